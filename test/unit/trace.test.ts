import { describe, expect, it } from 'vitest';
import { traceIdFrom } from '../../gateway/trace.js';

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
