import type { IncomingMessage } from 'node:http';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { requestIdOf } from '../../gateway/app.js';
import { newTraceId, tracedChildLogger, traceIdFrom, traceOf } from '../../gateway/trace.js';

describe('traceparent', () => {
  it('continues the caller’s trace from a valid W3C traceparent', () => {
    expect(traceIdFrom('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01')).toBe(
      '4bf92f3577b34da6a3ce929d0e0e4736',
    );
    expect(traceIdFrom(' 00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-00 ')).toBe(
      '4bf92f3577b34da6a3ce929d0e0e4736',
    );
  });

  it('starts a new trace for an absent, malformed or all-zero one', () => {
    for (const bad of [
      undefined,
      '',
      'garbage',
      '00-xyz-00f067aa0ba902b7-01',
      `00-${'0'.repeat(32)}-00f067aa0ba902b7-01`,
    ]) {
      expect(traceIdFrom(bad)).toBeNull();
    }
    expect(traceIdFrom(['00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'])).toBeNull();
  });
});

describe('new trace ids', () => {
  it('are valid W3C trace ids, all different, across several refills of the random pool', () => {
    const ids = Array.from({ length: 2_000 }, () => newTraceId());
    for (const id of ids) {
      expect(id).toMatch(/^[0-9a-f]{32}$/);
      // A new id must read back as a trace id when carried on in a traceparent.
      expect(traceIdFrom(`00-${id}-00f067aa0ba902b7-01`)).toBe(id);
    }
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('use every hex digit in every position (random, not a counter)', () => {
    const ids = Array.from({ length: 4_000 }, () => newTraceId());
    for (let position = 0; position < 32; position++) {
      expect(new Set(ids.map((id) => id[position])).size).toBe(16);
    }
  });
});

describe('a request’s trace', () => {
  const raw = (traceparent?: string) => ({ headers: traceparent ? { traceparent } : {} }) as IncomingMessage;

  it('is decided once per request: continued from traceparent, or new and then stable', () => {
    expect(traceOf(raw('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'))).toBe(
      '4bf92f3577b34da6a3ce929d0e0e4736',
    );
    const fresh = raw();
    expect(traceOf(fresh)).toMatch(/^[0-9a-f]{32}$/);
    expect(traceOf(fresh)).toBe(traceOf(fresh));
    expect(traceOf(raw())).not.toBe(traceOf(fresh));
  });

  it('is on every log line of the request', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const request = raw('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01');
    const log = tracedChildLogger.call({} as FastifyInstance, pino(sink), { reqId: 'r-1' }, {}, request);
    log.info('handled');
    expect(JSON.parse(lines[0] ?? '{}')).toMatchObject({ reqId: 'r-1', traceId: '4bf92f3577b34da6a3ce929d0e0e4736' });
  });
});

describe('request ids', () => {
  it('takes the caller’s x-request-id when it looks like an id, else makes one', () => {
    expect(requestIdOf('req-42.a:b_C')).toBe('req-42.a:b_C');
    for (const bad of [undefined, '', 'x'.repeat(129), 'has space', '<script>', ['a', 'b']]) {
      expect(requestIdOf(bad)).toMatch(/^[0-9a-f-]{36}$/);
    }
  });
});
