import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import type { Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProjectedEvent } from '../../runtime/consumer/types.js';
import { orderPaymentSaga } from '../../sagas/ordering/order-payment.js';
import { reactToBatch, reactToEvent } from '../../sagas/runtime/reactor.js';
import type { SagaDefinition } from '../../sagas/runtime/types.js';
import { openSagaDatabase, type SagaDatabase } from '../support/saga-database.js';

// Issue 14: the saga reacts to a batch of events in one transaction. Against the real saga tables, with the order
// saga: a batch must leave exactly what reacting to its events one at a time leaves (in order per saga), a failure
// anywhere in it must leave nothing, and a redelivery must react once.

let db: Knex;
let sagaDb: SagaDatabase | undefined;
beforeAll(async () => {
  sagaDb = await openSagaDatabase('sagabatch');
  db = sagaDb.db;
});
afterAll(async () => {
  await sagaDb?.close();
});

const saga = orderPaymentSaga({ acceptanceTimeoutMs: 300_000, paymentTimeoutMs: 120_000 });
const definition = saga as unknown as SagaDefinition<unknown>;
const NOW = new Date('2026-01-01T12:00:00Z');
const now = () => NOW;

/** The order saga's events for one order, in the order its streams would carry them. */
function lifecycle(orderId: string, card = 'ok'): ProjectedEvent[] {
  let version = 0;
  const event = (eventType: string, data: Record<string, unknown>): ProjectedEvent => ({
    eventId: randomUUID(),
    eventType,
    streamId: `${eventType.startsWith('Payment') ? 'payment' : 'order'}-${orderId}`,
    streamVersion: ++version,
    globalPosition: version,
    recordedAt: NOW.toISOString(),
    correlationId: `flow-${orderId}`,
    data: { orderId, ...data },
  });
  const money = { paymentId: orderId, amountMinor: 2500, currency: 'EUR' };
  const placed = event('OrderPlaced', {
    restaurantId: 'r-1',
    customerId: 'c-1',
    items: [{ menuItemId: 'm-1', name: 'Soup', quantity: 2, unitPriceMinor: 1250 }],
    totalMinor: 2500,
    currency: 'EUR',
    deliveryAddress: { line1: '1 Rua Augusta', line2: null, city: 'Lisbon', postalCode: '1100-048', country: 'PT' },
    paymentMethod: { cardLast4: '4242', cardToken: '4242424242424242' },
    placedAt: NOW.toISOString(),
  });
  if (card === 'declined') {
    return [placed, event('PaymentDeclined', { ...money, reason: 'card_declined', declinedAt: 'now' })];
  }
  return [
    placed,
    event('PaymentAuthorized', { ...money, providerRef: `pi_${orderId}`, authorizedAt: 'now' }),
    event('OrderConfirmed', { paymentId: orderId, confirmedAt: 'now' }),
    event('OrderAccepted', { acceptedAt: 'now' }),
    event('OrderCancelled', {
      reason: 'changed my mind',
      cancelledBy: 'c-1',
      previousStatus: 'CONFIRMED',
      cancelledAt: 'now',
    }),
    event('PaymentVoided', { ...money, reason: 'cancelled', voidedAt: 'now' }),
  ];
}

/** Everything the runtime keeps about one saga, without ids and times (which differ between two runs). */
async function footprint(orderId: string) {
  const key = { saga_type: saga.name, saga_id: orderId };
  const instance = await db('saga_instances').where(key).first('status', 'state', 'version', 'origin');
  const commands = await db('saga_commands')
    .where(key)
    .orderBy('id')
    .select('step', 'kind', 'payload', 'cause', 'status');
  const deadlines = await db('saga_deadlines').where(key).orderBy('name').select('name', 'due_at', 'status');
  const timeline = await db('saga_timeline').where(key).orderBy('id').select('kind', 'detail');
  const processed = await db('saga_processed_events').where(key).count({ n: '*' }).first();
  return { instance, commands, deadlines, timeline, processed: Number(processed?.n) };
}

/** A footprint with the order id and the event ids (by their place in the order's lifecycle) named alike. */
function normalise(f: Awaited<ReturnType<typeof footprint>>, orderId: string, events: readonly ProjectedEvent[]) {
  let text = JSON.stringify(f).replaceAll(orderId, 'ORDER');
  events.forEach((e, i) => {
    text = text.replaceAll(e.eventId, `event-${i}`);
  });
  return JSON.parse(text);
}

describe('a batch of saga events in one transaction', () => {
  it('leaves what reacting to its events one at a time leaves, in order per saga, however the events are batched', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom('ok', 'declined'), { minLength: 1, maxLength: 4 }),
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 12 }),
        async (cards, seed, cuts) => {
          // Several sagas' events interleaved (each saga's own in order, as one partition delivers them), then cut
          // into batches of random sizes; a twin of each saga (the same events under other ids) takes them one at a
          // time, in the same interleaving.
          const orders = cards.map((card) => {
            const [orderId, twin] = [randomUUID(), randomUUID()];
            return { orderId, twin, batched: lifecycle(orderId, card), single: lifecycle(twin, card) };
          });
          const next = orders.map(() => 0);
          const sequence: number[] = [];
          let pick = seed;
          while (orders.some((o, i) => next[i]! < o.batched.length)) {
            const open = orders.flatMap((o, i) => (next[i]! < o.batched.length ? [i] : []));
            pick = (pick * 1103515245 + 12345) % 2147483648;
            const chosen = open[pick % open.length]!;
            sequence.push(chosen);
            next[chosen]!++;
          }
          const take = (which: 'batched' | 'single') => {
            const at = orders.map(() => 0);
            return sequence.map((i) => orders[i]![which][at[i]!++]!);
          };
          const interleaved = take('batched');
          for (let i = 0, c = 0; i < interleaved.length; c++) {
            const size = cuts[c % cuts.length]!;
            await reactToBatch(db, definition, interleaved.slice(i, i + size), now);
            i += size;
          }
          for (const event of take('single')) await reactToEvent(db, definition, event, now);

          for (const o of orders) {
            const batched = normalise(await footprint(o.orderId), o.orderId, o.batched);
            expect(batched.processed).toBe(o.batched.length);
            expect(batched).toEqual(normalise(await footprint(o.twin), o.twin, o.single));
          }
        },
      ),
      { numRuns: 15 },
    );
  });

  it('applies several events of one saga in one batch in their order: one version per reaction, the timeline in order', async () => {
    const orderId = randomUUID();
    const events = lifecycle(orderId);
    const outcomes = await reactToBatch(db, definition, events, now);
    expect(outcomes).toEqual(['applied', 'applied', 'applied', 'applied', 'applied', 'applied']);
    const f = await footprint(orderId);
    expect(f.instance).toMatchObject({ version: 6, status: 'CANCELLED' });
    expect(f.timeline.map((t) => (t.detail as { eventType: string }).eventType)).toEqual(
      events.map((e) => e.eventType),
    );
    expect(f.commands.map((c) => c.step)).toEqual(['authorize', 'confirm-order', 'void']);
    // Scheduled by one reaction, cancelled by a later one of the same batch.
    expect(f.deadlines.map((d) => [d.name, d.status])).toEqual([
      ['payment-timeout', 'cancelled'],
      ['restaurant-acceptance', 'cancelled'],
    ]);
  });

  it('a failure mid-batch commits nothing of it; the redelivery reacts to each event once, a third delivery to none', async () => {
    const orders = [randomUUID(), randomUUID(), randomUUID()];
    const batch = orders.flatMap((orderId) => lifecycle(orderId).slice(0, 3));
    let calls = 0;
    const crashing: SagaDefinition<unknown> = {
      ...definition,
      react: (state, event, at) => {
        if (++calls === 5) throw new Error('the process died here');
        return definition.react(state, event, at);
      },
    };
    await expect(reactToBatch(db, crashing, batch, now)).rejects.toThrow('the process died here');
    expect(calls).toBe(5);
    const count = async (table: string) =>
      Number((await db(table).whereIn('saga_id', orders).count({ n: '*' }).first())?.n);
    for (const table of [
      'saga_instances',
      'saga_processed_events',
      'saga_commands',
      'saga_deadlines',
      'saga_timeline',
    ]) {
      expect(await count(table), table).toBe(0);
    }

    // Kafka delivers the batch again (its offset was not committed).
    expect(await reactToBatch(db, crashing, batch, now)).toEqual(batch.map(() => 'applied'));
    expect(await count('saga_processed_events')).toBe(9);
    expect(await count('saga_timeline')).toBe(9);
    expect(await count('saga_commands')).toBe(6); // authorize and confirm-order, once each
    const versions = await db('saga_instances').whereIn('saga_id', orders).pluck('version');
    expect(versions).toEqual([3, 3, 3]);

    // And once more (a rebalance): every event is a duplicate, nothing changes.
    expect(await reactToBatch(db, crashing, batch, now)).toEqual(batch.map(() => 'duplicate'));
    expect(await count('saga_timeline')).toBe(9);
    expect(await db('saga_instances').whereIn('saga_id', orders).pluck('version')).toEqual([3, 3, 3]);
  });

  it('an event twice in one batch (the relay published it again) is reacted to once', async () => {
    const orderId = randomUUID();
    const [placed, authorized] = lifecycle(orderId);
    expect(await reactToBatch(db, definition, [placed!, authorized!, placed!, authorized!], now)).toEqual([
      'applied',
      'applied',
      'duplicate',
      'duplicate',
    ]);
    expect((await footprint(orderId)).instance).toMatchObject({ version: 2 });
  });

  it('two batches sharing sagas at once (their order and payment topics) apply one after the other, losing nothing', async () => {
    const orders = Array.from({ length: 30 }, () => randomUUID());
    const lives = orders.map((orderId) => lifecycle(orderId));
    await reactToBatch(
      db,
      definition,
      lives.map((l) => l[0]!),
      now,
    );
    // One batch per topic, each in its own order of sagas: the payment events, and the order events that follow.
    const payments = lives.map((l) => l[1]!);
    const accepted = lives.map((l) => l[3]!).reverse();
    const results = await Promise.all([
      reactToBatch(db, definition, payments, now),
      reactToBatch(db, definition, accepted, now),
    ]);
    expect(results.flat().every((o) => o === 'applied')).toBe(true);
    const rows = await db('saga_instances').whereIn('saga_id', orders).select('version', 'state');
    expect(rows).toHaveLength(30);
    for (const row of rows) {
      expect(row.version).toBe(3);
      expect(row.state).toMatchObject({ payment: 'AUTHORIZED', accepted: true });
    }
  });
});
