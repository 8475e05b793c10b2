import { Writable } from 'node:stream';
import Fastify from 'fastify';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { loggedPath, OneLineRequestLog } from '../../../gateway/request-log.js';

// Cheap request logging (issue 14): one line per request, at its end, never the query string.

async function logged(request: { method: 'GET' | 'POST'; url: string }) {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  const app = Fastify({ loggerInstance: pino(sink), logController: new OneLineRequestLog() });
  app.get('/orders/:id', async () => ({ ok: true }));
  app.get('/boom', async () => {
    throw new Error('boom');
  });
  const response = await app.inject(request);
  await app.close();
  return { lines, status: response.statusCode };
}

describe('request log', () => {
  it('writes one line per request, with what happened and how long it took', async () => {
    const { lines, status } = await logged({ method: 'GET', url: '/orders/42?access_token=secret' });
    expect(status).toBe(200);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      msg: 'request completed',
      method: 'GET',
      path: '/orders/42',
      route: '/orders/:id',
      statusCode: 200,
      responseTime: expect.any(Number),
      reqId: expect.any(String),
    });
    expect(JSON.stringify(lines)).not.toContain('secret');
  });

  it('an unmatched route and a failing one are one line each too', async () => {
    expect((await logged({ method: 'GET', url: '/nowhere' })).lines).toHaveLength(1);
    // Fastify's default error handler logs the error itself; the completion is still a single line.
    const failed = await logged({ method: 'GET', url: '/boom' });
    expect(failed.lines.filter((line) => line.msg === 'request completed')).toHaveLength(1);
  });

  it('drops the query string, which may carry an access token', () => {
    expect(loggedPath('/streams/me?access_token=abc')).toBe('/streams/me');
    expect(loggedPath('/queries/ordering/orders')).toBe('/queries/ordering/orders');
  });
});
