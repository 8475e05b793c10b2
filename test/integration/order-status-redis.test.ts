import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type LiveOrderStatus,
  liveKeys,
  orderCount,
  orderStatus,
  orderStatusKeys,
  orderStatusRedisProjection,
  orderStatusRedisRebuild,
  statusCounts,
  unlinkMatching,
} from '../../projections/ordering/order-status-redis.js';
import { loadConfig } from '../../runtime/config.js';
import { observingBatch } from '../../runtime/consumer/observe.js';
import type { BatchSource, ProjectedEvent } from '../../runtime/consumer/types.js';
import { uniqueSuffix } from '../support/env.js';
import { dumpRedis } from '../support/redis.js';

// The Redis order-status projection against the real Redis, fed hand-built events (no Kafka): every test works
// under its own key prefix below this file's, and the file deletes everything under its prefix at the end.
const redis = new Redis(loadConfig().redisUrl, { maxRetriesPerRequest: 1 });
/** Receives the live channels; a connection in subscriber mode cannot run other commands. */
const sub = redis.duplicate();
const base = `t${uniqueSuffix()}.osr.`;
let prefixes = 0;
const freshPrefix = (): string => `${base}${prefixes++}.`;
const source: BatchSource = { topic: 'ordering.order', partition: 0, lastOffset: '0' };

const received = new Map<string, string[]>();
sub.on('message', (channel: string, message: string) => received.get(channel)?.push(message));
const SENTINEL = '__flushed__';

beforeAll(async () => {
  try {
    await redis.ping();
  } catch (error) {
    throw new Error(`redis is down (${String(error)}): start the stack with "ops/stack up"`);
  }
});

afterAll(async () => {
  await unlinkMatching(redis, `${base}*`);
  sub.disconnect();
  await redis.quit();
});

/** Subscribes to a prefix's live channel; returns a reader of everything received so far. */
async function listen(prefix: string) {
  const channel = liveKeys(prefix).channel;
  received.set(channel, []);
  await sub.subscribe(channel);
  return {
    /** Waits until a marker published now has arrived: pub/sub keeps order, so everything before it is in. */
    async messages(): Promise<LiveOrderStatus[]> {
      await redis.publish(channel, SENTINEL);
      const deadline = Date.now() + 5000;
      while (!received.get(channel)!.includes(SENTINEL)) {
        if (Date.now() > deadline) throw new Error(`no flush marker on ${channel}`);
        await new Promise((r) => setTimeout(r, 5));
      }
      const all = received.get(channel)!;
      const messages = all.filter((m) => m !== SENTINEL);
      received.set(channel, messages);
      return messages.map((m) => JSON.parse(m) as LiveOrderStatus);
    },
    async close() {
      await sub.unsubscribe(channel);
      received.delete(channel);
    },
  };
}

const dump = (prefix: string) => dumpRedis(redis, prefix);

// ---- hand-built events ------------------------------------------------------------------------------------

let position = 0;
const t0 = Date.now();

type OrderEventType =
  | 'OrderConfirmed'
  | 'OrderRejected'
  | 'OrderAccepted'
  | 'OrderPreparationStarted'
  | 'OrderReadyForPickup'
  | 'OrderPickedUp'
  | 'OrderDelivered'
  | 'OrderCancelled';

const dataOf = (type: OrderEventType, at: string): Record<string, unknown> => {
  switch (type) {
    case 'OrderConfirmed':
      return { paymentId: 'p-1', confirmedAt: at };
    case 'OrderRejected':
      return { reason: 'declined', rejectedAt: at };
    case 'OrderAccepted':
      return { acceptedAt: at };
    case 'OrderPreparationStarted':
      return { startedAt: at };
    case 'OrderReadyForPickup':
      return { readyAt: at };
    case 'OrderPickedUp':
      return { courierId: 'courier-1', pickedUpAt: at };
    case 'OrderDelivered':
      return { deliveredAt: at };
    case 'OrderCancelled':
      return { reason: 'changed mind', cancelledBy: 'c1', previousStatus: 'PENDING', cancelledAt: at };
  }
};

/** One order's stream: each call makes its next event (stream version + 1) with the next global position. */
function order(customerId: string, restaurantId: string, totalMinor = 1500) {
  const orderId = `o-${randomUUID()}`;
  let version = 0;
  const make = (eventType: string, data: Record<string, unknown>): ProjectedEvent => {
    position++;
    const recordedAt = new Date(t0 + position).toISOString();
    return {
      eventId: randomUUID(),
      eventType,
      streamId: `order-${orderId}`,
      streamVersion: ++version,
      globalPosition: position,
      recordedAt,
      correlationId: 'test',
      data: { orderId, ...data },
    };
  };
  return {
    orderId,
    placed: () =>
      make('OrderPlaced', {
        restaurantId,
        customerId,
        items: [{ menuItemId: 'm-1', name: 'Soup', quantity: 1, unitPriceMinor: totalMinor }],
        totalMinor,
        currency: 'EUR',
        deliveryAddress: { line1: 'Rua Augusta 1', city: 'Lisbon', postalCode: '1100-048', country: 'PT' },
        paymentMethod: { cardLast4: '4242', cardToken: 'tok' },
        placedAt: new Date(t0 + position + 1).toISOString(),
      }),
    next: (type: OrderEventType) => make(type, dataOf(type, new Date(t0 + position + 1).toISOString())),
  };
}

const zero = {
  PENDING: 0,
  CONFIRMED: 0,
  PREPARING: 0,
  READY: 0,
  PICKED_UP: 0,
  DELIVERED: 0,
  REJECTED: 0,
  CANCELLED: 0,
};

// ---- tests ------------------------------------------------------------------------------------------------

describe('order status in Redis', () => {
  it('follows the lifecycle: hash per order, counters overall and per restaurant', async () => {
    const prefix = freshPrefix();
    const projection = orderStatusRedisProjection(redis, { keyPrefix: prefix, version: 1 });
    await projection.setup();
    const o1 = order('c1', 'r1', 1500);
    const o2 = order('c2', 'r1', 900);
    const o3 = order('c1', 'r2', 700);

    const placed = o1.placed();
    await projection.applyBatch([placed, o2.placed(), o3.placed()], source);
    expect(await orderStatus(redis, prefix, 1, o1.orderId)).toEqual({
      orderId: o1.orderId,
      status: 'PENDING',
      version: 1,
      position: placed.globalPosition,
      customerId: 'c1',
      restaurantId: 'r1',
      totalMinor: 1500,
      currency: 'EUR',
      updatedAt: placed.recordedAt,
    });
    expect(await statusCounts(redis, prefix, 1)).toEqual({ ...zero, PENDING: 3 });
    expect(await statusCounts(redis, prefix, 1, 'r1')).toEqual({ ...zero, PENDING: 2 });
    expect(await statusCounts(redis, prefix, 1, 'r2')).toEqual({ ...zero, PENDING: 1 });

    await projection.applyBatch(
      [
        o1.next('OrderConfirmed'),
        o1.next('OrderAccepted'),
        o2.next('OrderCancelled'),
        o3.next('OrderConfirmed'),
        o1.next('OrderPreparationStarted'),
      ],
      source,
    );
    expect(await orderStatus(redis, prefix, 1, o1.orderId)).toMatchObject({ status: 'PREPARING', version: 4 });
    expect(await orderStatus(redis, prefix, 1, o2.orderId)).toMatchObject({ status: 'CANCELLED', version: 2 });
    expect(await statusCounts(redis, prefix, 1)).toEqual({ ...zero, PREPARING: 1, CANCELLED: 1, CONFIRMED: 1 });
    expect(await statusCounts(redis, prefix, 1, 'r1')).toEqual({ ...zero, PREPARING: 1, CANCELLED: 1 });

    const delivered = [o1.next('OrderReadyForPickup'), o1.next('OrderPickedUp'), o1.next('OrderDelivered')];
    // Acceptance moves no status: the version and time change, the counters do not.
    const accepted = o3.next('OrderAccepted');
    await projection.applyBatch([...delivered, accepted], source);
    expect(await orderStatus(redis, prefix, 1, o1.orderId)).toMatchObject({
      status: 'DELIVERED',
      version: 7,
      position: delivered[2]!.globalPosition,
      updatedAt: delivered[2]!.recordedAt,
    });
    expect(await orderStatus(redis, prefix, 1, o3.orderId)).toMatchObject({
      status: 'CONFIRMED',
      version: 3,
      updatedAt: accepted.recordedAt,
    });
    expect(await statusCounts(redis, prefix, 1)).toEqual({ ...zero, DELIVERED: 1, CANCELLED: 1, CONFIRMED: 1 });
    expect(await statusCounts(redis, prefix, 1, 'r1')).toEqual({ ...zero, DELIVERED: 1, CANCELLED: 1 });
    expect(await statusCounts(redis, prefix, 1, 'r2')).toEqual({ ...zero, CONFIRMED: 1 });
    // Emptied statuses leave the hash rather than linger as zeros.
    expect(await redis.hgetall(orderStatusKeys(prefix, 1).counts)).toEqual({
      DELIVERED: '1',
      CANCELLED: '1',
      CONFIRMED: '1',
    });
    expect(await orderStatus(redis, prefix, 1, 'o-unknown')).toBeNull();
  });

  it('changes nothing when the same batch is delivered again, one after another or all at once', async () => {
    const prefix = freshPrefix();
    const live = await listen(prefix);
    const projection = orderStatusRedisProjection(redis, { keyPrefix: prefix });
    const o1 = order('c1', 'r1');
    const o2 = order('c2', 'r1');
    const batch = [
      o1.placed(),
      o2.placed(),
      o1.next('OrderConfirmed'),
      o1.next('OrderAccepted'),
      o2.next('OrderRejected'),
      o1.next('OrderPreparationStarted'),
    ];
    await projection.applyBatch(batch, source);
    const before = await dump(prefix);
    const published = await live.messages();
    expect(published).toHaveLength(5); // acceptance is not a status change

    for (let i = 0; i < 5; i++) await projection.applyBatch(batch, source);
    // Concurrently, all five read the same state and send their scripts: only the scripts' checks stop them.
    await Promise.all(Array.from({ length: 5 }, () => projection.applyBatch(batch, source)));
    // And as a second projector process would: its own client, the script defined again there.
    const other = redis.duplicate();
    await orderStatusRedisProjection(other, { keyPrefix: prefix }).applyBatch(batch, source);
    await other.quit();

    expect(await dump(prefix)).toEqual(before);
    expect(await live.messages()).toEqual(published);
    expect(await redis.xlen(liveKeys(prefix).order(o1.orderId))).toBe(3);
    await live.close();
  });

  it('ignores an older event delivered after a newer one', async () => {
    const prefix = freshPrefix();
    const live = await listen(prefix);
    const projection = orderStatusRedisProjection(redis, { keyPrefix: prefix });
    const o1 = order('c1', 'r1');
    const o1Events = [
      o1.placed(),
      o1.next('OrderConfirmed'),
      o1.next('OrderAccepted'),
      o1.next('OrderPreparationStarted'),
    ];
    await projection.applyBatch(o1Events, source);
    const o2 = order('c2', 'r1');
    const [placed, confirmed, cancelled] = [o2.placed(), o2.next('OrderConfirmed'), o2.next('OrderCancelled')];
    await projection.applyBatch([placed], source);
    await projection.applyBatch([cancelled], source); // version 3 before version 2
    const before = await dump(prefix);
    const published = await live.messages();

    await projection.applyBatch([confirmed], source);
    await projection.applyBatch([o1Events[1]!], source);
    await projection.applyBatch([o1Events[0]!, o1Events[2]!], source);

    expect(await dump(prefix)).toEqual(before);
    expect(await orderStatus(redis, prefix, 1, o2.orderId)).toMatchObject({ status: 'CANCELLED', version: 3 });
    expect(await statusCounts(redis, prefix, 1)).toEqual({ ...zero, PREPARING: 1, CANCELLED: 1 });
    expect(await live.messages()).toEqual(published);
    await live.close();
  });

  it('recomputes a batch whose read was overtaken by another consumer instead of writing a stale status', async () => {
    const prefix = freshPrefix();
    const o = order('c1', 'r1');
    const [placed, confirmed, accepted] = [o.placed(), o.next('OrderConfirmed'), o.next('OrderAccepted')];
    const fast = orderStatusRedisProjection(redis, { keyPrefix: prefix });
    await fast.applyBatch([placed], source);
    // The slow consumer reads (order at version 1, PENDING), then waits at the gate before writing.
    let open = (): void => undefined;
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    let readDone = (): void => undefined;
    const hasRead = new Promise<void>((resolve) => {
      readDone = resolve;
    });
    let gated = true;
    const slowClient = new Proxy(redis, {
      get(target, property) {
        if (property === 'pipeline') {
          return () => {
            const pipeline = target.pipeline();
            if (gated) {
              gated = false;
              const exec = pipeline.exec.bind(pipeline);
              pipeline.exec = async () => {
                const result = await exec();
                readDone();
                await gate;
                return result;
              };
            }
            return pipeline;
          };
        }
        const value: unknown = Reflect.get(target, property, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const slow = orderStatusRedisProjection(slowClient, { keyPrefix: prefix });
    const slowApply = slow.applyBatch([accepted], source);
    await hasRead;
    await fast.applyBatch([confirmed], source); // moves the order to CONFIRMED meanwhile
    open();
    await slowApply;
    // Folded on the stale read, acceptance would have written PENDING back at version 3.
    expect(await orderStatus(redis, prefix, 1, o.orderId)).toMatchObject({ status: 'CONFIRMED', version: 3 });
    expect(await statusCounts(redis, prefix, 1)).toEqual({ ...zero, CONFIRMED: 1 });
  });

  it('publishes each status change once, in order, and keeps per-order and per-customer streams for resume', async () => {
    const prefix = freshPrefix();
    const live = await listen(prefix);
    const projection = orderStatusRedisProjection(redis, { keyPrefix: prefix });
    const o1 = order('c1', 'r1');
    const o2 = order('c1', 'r2');
    const first = [o1.placed(), o1.next('OrderConfirmed'), o2.placed()];
    const second = [
      o1.next('OrderAccepted'),
      o1.next('OrderPreparationStarted'),
      o2.next('OrderCancelled'),
      o1.next('OrderReadyForPickup'),
    ];
    await projection.applyBatch(first, source);
    await projection.applyBatch(second, source);
    await projection.applyBatch([...first, ...second], source); // redelivered: nothing more goes out

    const expected = (
      [
        [first[0]!, 'PENDING', 'r1'],
        [first[1]!, 'CONFIRMED', 'r1'],
        [first[2]!, 'PENDING', 'r2'],
        [second[1]!, 'PREPARING', 'r1'],
        [second[2]!, 'CANCELLED', 'r2'],
        [second[3]!, 'READY', 'r1'],
      ] as const
    ).map(
      ([event, status, restaurantId]): LiveOrderStatus => ({
        orderId: String(event.data.orderId),
        status,
        version: event.streamVersion,
        position: event.globalPosition,
        customerId: 'c1',
        restaurantId,
        updatedAt: event.recordedAt,
      }),
    );
    const messages = await live.messages();
    expect(messages).toEqual(expected);
    for (const m of messages) expect(Object.keys(m).sort()).toEqual(Object.keys(expected[0]!).sort());

    const keys = liveKeys(prefix);
    const entries = await redis.xrange(keys.order(o1.orderId), '-', '+');
    const parse = (list: [string, string[]][]) => list.map(([, fields]) => JSON.parse(fields[1]!) as LiveOrderStatus);
    expect(entries.map(([, fields]) => fields[0])).toEqual(['message', 'message', 'message', 'message']);
    expect(parse(entries)).toEqual(expected.filter((m) => m.orderId === o1.orderId));
    // A client that saw the CONFIRMED entry reconnects with it as Last-Event-ID and gets what came after.
    const lastSeen = entries[1]![0];
    const missed = await redis.xrange(keys.order(o1.orderId), `(${lastSeen}`, '+');
    expect(parse(missed).map((m) => m.status)).toEqual(['PREPARING', 'READY']);
    const read = await redis.xread('STREAMS', keys.order(o1.orderId), lastSeen);
    expect(parse(read![0]![1]).map((m) => m.status)).toEqual(['PREPARING', 'READY']);
    // The customer's stream holds both orders, in the order they were published.
    expect(parse(await redis.xrange(keys.customer('c1'), '-', '+'))).toEqual(expected);
    // Live streams expire (a day by default) rather than pile up one per order forever.
    expect(await redis.pttl(keys.order(o1.orderId))).toBeGreaterThan(23 * 3600 * 1000);
    await live.close();
  });

  it('builds a second version beside the first without publishing twice; dropping the first leaves the rest', async () => {
    const prefix = freshPrefix();
    const live = await listen(prefix);
    const v1 = orderStatusRedisProjection(redis, { keyPrefix: prefix, version: 1 });
    const v2 = orderStatusRedisProjection(redis, { keyPrefix: prefix, version: 2 });
    const o = order('c1', 'r1');
    const events = [o.placed(), o.next('OrderConfirmed'), o.next('OrderRejected')];
    await v1.applyBatch(events, source);
    const published = await live.messages();
    expect(published.map((m) => m.status)).toEqual(['PENDING', 'CONFIRMED', 'REJECTED']);
    await v2.applyBatch(events, source);
    expect(await live.messages()).toEqual(published);
    expect(await orderStatus(redis, prefix, 2, o.orderId)).toEqual(await orderStatus(redis, prefix, 1, o.orderId));

    const all = await dump(prefix);
    await v1.drop();
    const left = await dump(prefix);
    expect(Object.keys(left).some((k) => k.startsWith('ordering:v1:'))).toBe(false);
    expect(left).toEqual(Object.fromEntries(Object.entries(all).filter(([k]) => !k.startsWith('ordering:v1:'))));
    expect(Object.keys(left).sort()).toEqual([
      `live:customer:c1`,
      `live:order:${o.orderId}`,
      `ordering:v2:order:${o.orderId}`,
      'ordering:v2:orders-by-status',
      'ordering:v2:restaurant:r1:orders-by-status',
    ]);
    await live.close();
  });

  it('does not publish events older than the live window (a replay of history), but still counts them', async () => {
    const prefix = freshPrefix();
    const live = await listen(prefix);
    const o = order('c1', 'r1');
    const events = [o.placed(), o.next('OrderConfirmed')];
    const twoDaysLater = Date.parse(events[1]!.recordedAt) + 2 * 24 * 3600 * 1000;
    const projection = orderStatusRedisProjection(redis, { keyPrefix: prefix, now: () => twoDaysLater });
    await projection.applyBatch(events, source);
    expect(await orderStatus(redis, prefix, 1, o.orderId)).toMatchObject({ status: 'CONFIRMED', version: 2 });
    expect(await statusCounts(redis, prefix, 1)).toEqual({ ...zero, CONFIRMED: 1 });
    expect(await live.messages()).toEqual([]);
    expect(await redis.exists(liveKeys(prefix).order(o.orderId), liveKeys(prefix).customer('c1'))).toBe(0);
    await live.close();
  });
});

// ---- lost state, rebuild, duplicates ----------------------------------------------------------------------

/** A dump with the version taken out of the read model's keys, to compare two versions of it. */
const unversioned = (d: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(d).map(([k, v]) => [k.replace(/^ordering:v\d+:/, 'ordering:v*:'), v]));

/** Last entry id of every live stream under a prefix: where a subscriber that saw everything would resume. */
async function lastIds(prefix: string): Promise<Map<string, string>> {
  const ids = new Map<string, string>();
  let cursor = '0';
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', `${prefix}live:*`, 'COUNT', 1000);
    cursor = next;
    for (const key of found) {
      const last = (await redis.xrevrange(key, '+', '-', 'COUNT', 1))[0];
      if (last) ids.set(key, last[0]);
    }
  } while (cursor !== '0');
  return ids;
}

/** What a consumer reports while it applies a batch (see runtime/consumer/observe.ts). */
async function observed(apply: () => Promise<unknown>) {
  const tally = { duplicates: 0, withoutState: 0 };
  await observingBatch(
    {
      duplicatesSkipped: (n) => {
        tally.duplicates += n;
      },
      stateMissing: (n) => {
        tally.withoutState += n;
      },
    },
    apply,
  );
  return tally;
}

describe('lost state and rebuilds', () => {
  /** Three orders of three customers through a few steps each, in store order. */
  function history() {
    const o1 = order('rc1', 'rr1', 1200);
    const o2 = order('rc2', 'rr1', 800);
    const o3 = order('rc3', 'rr2', 500);
    return [
      o1.placed(),
      o2.placed(),
      o1.next('OrderConfirmed'),
      o3.placed(),
      o1.next('OrderAccepted'),
      o2.next('OrderCancelled'),
      o1.next('OrderPreparationStarted'),
      o3.next('OrderConfirmed'),
      o1.next('OrderReadyForPickup'),
    ];
  }

  it('skips and reports an event of an order it has no state for (Redis lost it), inventing nothing', async () => {
    const prefix = freshPrefix();
    const projection = orderStatusRedisProjection(redis, { keyPrefix: prefix });
    const o = order('lc1', 'lr1');
    const [placed, confirmed] = [o.placed(), o.next('OrderConfirmed')];
    const other = order('lc2', 'lr1').placed();
    await projection.applyBatch([placed], source);
    await unlinkMatching(redis, `${prefix}*`); // Redis restarted without persistence
    const tally = await observed(() => projection.applyBatch([confirmed, other], source));
    expect(tally).toEqual({ duplicates: 0, withoutState: 1 });
    // The order with lost state stays unknown (no partial hash without customer or total); new orders go on.
    expect(await orderStatus(redis, prefix, 1, o.orderId)).toBeNull();
    expect(await statusCounts(redis, prefix, 1)).toEqual({ ...zero, PENDING: 1 });
  });

  it('reports redeliveries where it skips them: in the fold and in the script', async () => {
    const prefix = freshPrefix();
    const projection = orderStatusRedisProjection(redis, { keyPrefix: prefix });
    const events = history();
    expect(await observed(() => projection.applyBatch(events, source))).toEqual({ duplicates: 0, withoutState: 0 });
    expect(await observed(() => projection.applyBatch(events, source))).toEqual({
      duplicates: events.length,
      withoutState: 0,
    });
    // Two consumers at once (a rebalance): whichever finds them applied counts them, together once per copy.
    const fresh = [order('dc1', 'dr1').placed()];
    const both = await observed(() =>
      Promise.all([projection.applyBatch(fresh, source), projection.applyBatch(fresh, source)]),
    );
    expect(both).toEqual({ duplicates: 1, withoutState: 0 });
  });

  it('rebuilds a version after Redis lost everything: hashes, counters and live streams as a fresh build, nothing published', async () => {
    const events = history();
    // The fresh build: what the projector makes of the same history on an empty Redis.
    const builtFresh = freshPrefix();
    const fresh = orderStatusRedisProjection(redis, { keyPrefix: builtFresh });
    for (let i = 0; i < events.length; i += 2) await fresh.applyBatch(events.slice(i, i + 2), source);
    const expected = unversioned(await dump(builtFresh));

    const prefix = freshPrefix();
    const projection = orderStatusRedisProjection(redis, { keyPrefix: prefix, version: 1 });
    for (let i = 0; i < events.length; i += 3) await projection.applyBatch(events.slice(i, i + 3), source);
    expect(unversioned(await dump(prefix))).toEqual(expected);
    const seen = await lastIds(prefix);
    const live = await listen(prefix);
    await live.messages(); // what the live build published: not this test's business

    await unlinkMatching(redis, `${prefix}*`); // Redis restarted without persistence
    const target = orderStatusRedisRebuild(redis, { keyPrefix: prefix, version: 2 });
    await target.reset();
    let applied = 0;
    for (let i = 0; i < events.length; i += 4) applied += await target.apply(events.slice(i, i + 4));
    expect(applied).toBe(events.length);

    const rebuilt = await dump(prefix);
    expect(Object.keys(rebuilt).some((k) => k.startsWith('ordering:v1:'))).toBe(false);
    expect(unversioned(rebuilt)).toEqual(expected);
    expect(await orderCount(redis, prefix, 2)).toBe(3);
    // History is not news: nothing went out on the channel, and a subscriber resuming from the last id it was
    // sent before the loss is not sent the same entries again (restored ids come from the recorded times).
    expect(await live.messages()).toEqual([]);
    for (const [key, id] of seen) expect(await redis.xrange(key, `(${id}`, '+'), key).toEqual([]);
    // Applying the history again changes nothing (a rebuild that is run twice, or the seeded group's overlap).
    await target.apply(events);
    expect(await dump(prefix)).toEqual(rebuilt);
    await live.close();
  });

  it('rebuilds beside a healthy live version without touching the live streams; drop leaves them', async () => {
    const events = history();
    const prefix = freshPrefix();
    const v1 = orderStatusRedisProjection(redis, { keyPrefix: prefix, version: 1 });
    await v1.applyBatch(events, source);
    const before = await dump(prefix);
    const live = await listen(prefix);
    const target = orderStatusRedisRebuild(redis, { keyPrefix: prefix, version: 2 });
    await target.reset();
    await target.apply(events);
    const after = await dump(prefix);
    const liveOnly = (d: Record<string, unknown>) => Object.entries(d).filter(([k]) => k.startsWith('live:'));
    expect(liveOnly(after)).toEqual(liveOnly(before));
    expect(await live.messages()).toEqual([]);
    expect(await orderStatus(redis, prefix, 2, String(events[0]!.data.orderId))).toEqual(
      await orderStatus(redis, prefix, 1, String(events[0]!.data.orderId)),
    );
    // The old version dropped: its hashes and counters go, the shared live streams and the new version stay.
    await orderStatusRedisRebuild(redis, { keyPrefix: prefix, version: 1 }).drop();
    const left = await dump(prefix);
    expect(Object.keys(left).some((k) => k.startsWith('ordering:v1:'))).toBe(false);
    expect(liveOnly(left)).toEqual(liveOnly(before));
    expect(unversioned(left)).toEqual(unversioned(before));
    await live.close();
  });

  it('a live version that lags behind a rebuild publishes nothing twice: it finds the streams ahead and skips', async () => {
    const events = history();
    const prefix = freshPrefix();
    const target = orderStatusRedisRebuild(redis, { keyPrefix: prefix, version: 2 });
    await target.reset();
    await target.apply(events);
    const streams = Object.entries(await dump(prefix)).filter(([k]) => k.startsWith('live:'));
    const live = await listen(prefix);
    await orderStatusRedisProjection(redis, { keyPrefix: prefix, version: 1 }).applyBatch(events, source);
    expect(await live.messages()).toEqual([]);
    expect(Object.entries(await dump(prefix)).filter(([k]) => k.startsWith('live:'))).toEqual(streams);
    await live.close();
  });
});

// ---- property ---------------------------------------------------------------------------------------------

/** The steps the Order decider allows from a state (commands/ordering/order.ts), for generating valid streams. */
function allowed(status: string, accepted: boolean): OrderEventType[] {
  switch (status) {
    case 'PENDING':
      return ['OrderConfirmed', 'OrderRejected', 'OrderCancelled', ...(accepted ? [] : ['OrderAccepted' as const])];
    case 'CONFIRMED':
      return ['OrderRejected', 'OrderCancelled', accepted ? 'OrderPreparationStarted' : 'OrderAccepted'];
    case 'PREPARING':
      return ['OrderReadyForPickup', 'OrderCancelled'];
    case 'READY':
      return ['OrderPickedUp', 'OrderCancelled'];
    case 'PICKED_UP':
      return ['OrderDelivered'];
    default:
      return [];
  }
}

const statusAfter: Partial<Record<OrderEventType, string>> = {
  OrderConfirmed: 'CONFIRMED',
  OrderRejected: 'REJECTED',
  OrderPreparationStarted: 'PREPARING',
  OrderReadyForPickup: 'READY',
  OrderPickedUp: 'PICKED_UP',
  OrderDelivered: 'DELIVERED',
  OrderCancelled: 'CANCELLED',
};

/** One valid order stream chosen by `choices`, as a list of event makers (positions are taken when merged). */
function validStream(customerId: string, restaurantId: string, choices: readonly number[]) {
  const types: OrderEventType[] = [];
  let status = 'PENDING';
  let accepted = false;
  for (const choice of choices) {
    const options = allowed(status, accepted);
    if (options.length === 0) break;
    const type = options[choice % options.length]!;
    types.push(type);
    status = statusAfter[type] ?? status;
    accepted ||= type === 'OrderAccepted' || type === 'OrderPreparationStarted';
  }
  return { o: order(customerId, restaurantId), types };
}

const orderSpec = fc.record({
  customer: fc.constantFrom('c1', 'c2'),
  restaurant: fc.constantFrom('r1', 'r2'),
  choices: fc.array(fc.nat(11), { maxLength: 8 }),
});

describe('property', () => {
  it('any interleaving of redeliveries ends in the state of applying each event once, in order', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(orderSpec, { minLength: 1, maxLength: 4 }),
        fc.array(fc.nat(), { minLength: 1, maxLength: 40 }),
        fc.array(fc.record({ after: fc.nat(), from: fc.nat(), length: fc.integer({ min: 1, max: 6 }) }), {
          maxLength: 12,
        }),
        fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 10 }),
        fc.array(fc.boolean(), { minLength: 1, maxLength: 10 }),
        async (specs, picks, redeliveries, batchSizes, twice) => {
          // The event store's order: the orders' streams interleaved, each in its own order.
          const queues = specs.map((s) => {
            const { o, types } = validStream(s.customer, s.restaurant, s.choices);
            return [() => o.placed(), ...types.map((t) => () => o.next(t))];
          });
          const log: ProjectedEvent[] = [];
          for (let i = 0; queues.some((q) => q.length > 0); i++) {
            const open = queues.filter((q) => q.length > 0);
            log.push(open[picks[i % picks.length]! % open.length]!.shift()!());
          }
          // What the consumer sees: the log, plus copies of earlier events (rewinds, stale duplicates) anywhere.
          const deliveries: ProjectedEvent[] = [];
          log.forEach((event, i) => {
            deliveries.push(event);
            for (const r of redeliveries.filter((x) => x.after % log.length === i)) {
              const from = r.from % (i + 1);
              deliveries.push(...log.slice(from, Math.min(from + r.length, i + 1)));
            }
          });

          const expectedPrefix = freshPrefix();
          const actualPrefix = freshPrefix();
          const expectedLive = await listen(expectedPrefix);
          const actualLive = await listen(actualPrefix);
          const once = orderStatusRedisProjection(redis, { keyPrefix: expectedPrefix });
          for (const event of log) await once.applyBatch([event], source);
          const projection = orderStatusRedisProjection(redis, { keyPrefix: actualPrefix });
          for (let at = 0, b = 0; at < deliveries.length; b++) {
            const batch = deliveries.slice(at, at + batchSizes[b % batchSizes.length]!);
            at += batch.length;
            // Sometimes two consumers hold the same batch during a rebalance and apply it at the same time.
            if (twice[b % twice.length]) {
              await Promise.all([projection.applyBatch(batch, source), projection.applyBatch(batch, source)]);
            } else {
              await projection.applyBatch(batch, source);
            }
          }

          const actual = await dump(actualPrefix);
          expect(actual).toEqual(await dump(expectedPrefix));
          expect(await actualLive.messages()).toEqual(await expectedLive.messages());
          // And the counters agree with the hashes they summarise.
          const byStatus: Record<string, number> = {};
          for (const [key, value] of Object.entries(actual)) {
            if (key.startsWith('ordering:v1:order:')) {
              const status = (value as Record<string, string>).status!;
              byStatus[status] = (byStatus[status] ?? 0) + 1;
            }
          }
          expect(await statusCounts(redis, actualPrefix, 1)).toEqual({ ...zero, ...byStatus });

          await expectedLive.close();
          await actualLive.close();
          await unlinkMatching(redis, `${expectedPrefix}*`);
          await unlinkMatching(redis, `${actualPrefix}*`);
        },
      ),
      { numRuns: 40 },
    );
  });
});
