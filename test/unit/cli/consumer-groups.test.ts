import { describe, expect, it } from 'vitest';
import { isKafkaError, parseGroupId, statusOf } from '../../../ops/cli/consumer-groups.js';
import { ServiceError } from '../../../ops/cli/errors.js';

describe('consumer groups of a deployment', () => {
  it('are its prefix’s projection.* (with their version) and saga.* groups, and no other', () => {
    expect(parseGroupId('t1.', 't1.projection.ordering.orders.v12')).toEqual({
      kind: 'projection',
      name: 'ordering.orders',
      version: 12,
    });
    expect(parseGroupId('t1.', 't1.projection.odd')).toEqual({ kind: 'projection', name: 'odd', version: null });
    expect(parseGroupId('t1.', 't1.saga.order-payment')).toEqual({
      kind: 'saga',
      name: 'order-payment',
      version: null,
    });
    expect(parseGroupId('', 'saga.order-payment')).toMatchObject({ kind: 'saga', name: 'order-payment' });
    for (const other of [
      't2.projection.ordering.orders.v1',
      't1.ledger-cli.tail.ab12',
      't1.saga.',
      'projection.x.v1',
    ]) {
      expect(parseGroupId('t1.', other), other).toBeNull();
    }
  });

  it('have a status from their Kafka state', () => {
    expect(statusOf('Stable')).toBe('running');
    expect(statusOf('PreparingRebalance')).toBe('rebalancing');
    expect(statusOf('Empty')).toBe('stopped');
    expect(statusOf('Dead')).toBe('not started');
    expect(statusOf(undefined)).toBe('not started');
    expect(statusOf('Weird')).toBe('unknown');
  });

  it('tell Kafka’s failures (shown as “Kafka unreachable”) from bugs (which are not hidden)', () => {
    expect(isKafkaError(Object.assign(new Error('Connection error'), { name: 'KafkaJSConnectionError' }))).toBe(true);
    expect(isKafkaError(new ServiceError('Kafka', '127.0.0.1:1', 'ECONNREFUSED'))).toBe(true);
    expect(isKafkaError(new ServiceError('PostgreSQL', '127.0.0.1:1', 'ECONNREFUSED'))).toBe(false);
    expect(isKafkaError(new TypeError('x is undefined'))).toBe(false);
  });
});
