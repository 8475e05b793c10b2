import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  liveKeys,
  ORDER_STATUS_PROJECTION,
  orderStatus,
  unlinkMatching,
} from '../../projections/ordering/order-status-redis.js';
import { activeVersion } from '../../projections/runtime/versions.js';
import { loadConfig } from '../../runtime/config.js';
import { ledgerCli } from '../support/cli.js';
import { ctx, placeOrder, seedMenu } from '../support/ordering.js';
import { dumpRedis } from '../support/redis.js';
import { startTestSystem, type TestSystem, waitUntil } from '../support/system.js';

// Issue 13: the Redis order status rebuilt by `ledger projections rebuild ordering.order-status` from the event
// store, as the PostgreSQL read models are: beside the live version, then switched; and after Redis lost its data
// (a restart without persistence), back to what a fresh build makes, without publishing history again.
// The whole system runs in this process (write side, relay, projector); the CLI runs as engineers run it.

let sys: TestSystem;
let redis: Redis;
let menu: { restaurantId: string; menuItemIds: string[] };
const orderIds: string[] = [];

const { ledger, ledgerJson } = ledgerCli(() => ({ DATABASE_URL: sys.url, TOPIC_PREFIX: sys.config.topicPrefix }));

/** Everything under the deployment's prefix: hashes, counters, live streams (entries without their ids). */
const dump = () => dumpRedis(redis, sys.config.topicPrefix);

/** The read model's keys with their version taken out, so two versions compare. */
const unversioned = (d: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(d).map(([k, v]) => [k.replace(/^ordering:v\d+:/, 'ordering:v*:'), v]));
const versionsIn = (d: Record<string, unknown>) =>
  [...new Set(Object.keys(d).flatMap((k) => /^ordering:v(\d+):/.exec(k)?.[1] ?? []))].map(Number).sort();

/** Every order of the store at its current version in `version` of the Redis read model. */
async function redisCaughtUp(version: number): Promise<void> {
  await waitUntil(
    async () => {
      const streams: { stream_id: string; version: number }[] = await sys.write
        .db('streams')
        .where('stream_type', 'ordering.order')
        .select('stream_id', 'version');
      for (const s of streams) {
        const hot = await orderStatus(redis, sys.config.topicPrefix, version, s.stream_id.slice('order-'.length));
        if (hot?.version !== s.version) return false;
      }
      return true;
    },
    60_000,
    `${ORDER_STATUS_PROJECTION} v${version} to catch up with the store`,
  );
}

const outboxEmpty = () =>
  waitUntil(
    async () => Number((await sys.write.db('outbox').count({ n: '*' }).first())?.n) === 0,
    30_000,
    'the relay to drain the outbox',
  );

const following = (version: number) =>
  waitUntil(
    async () => sys.projector?.runners.get(ORDER_STATUS_PROJECTION)?.version === version,
    30_000,
    `the projector to follow ${ORDER_STATUS_PROJECTION} to v${version}`,
  );

/** Subscribes to the deployment's live channel; `messages()` returns what arrived (waiting for a marker). */
async function listen() {
  const sub = redis.duplicate();
  const channel = liveKeys(sys.config.topicPrefix).channel;
  const received: string[] = [];
  sub.on('message', (_: string, message: string) => received.push(message));
  await sub.subscribe(channel);
  return {
    async messages(): Promise<string[]> {
      await redis.publish(channel, '__marker__');
      await waitUntil(async () => received.includes('__marker__'), 5000, 'the marker');
      return received.splice(0).filter((m) => m !== '__marker__');
    },
    close: () => sub.quit(),
  };
}

interface RebuildJson {
  projection: string;
  version: number;
  events: number;
  isolated: { count: number };
  activated: boolean;
  previous: { version: number; dropped: boolean; keptBecause: string | null };
}

beforeAll(async () => {
  redis = new Redis(loadConfig().redisUrl, { maxRetriesPerRequest: 1 });
  sys = await startTestSystem('osrebuild');
  menu = await seedMenu(sys.write.ordering);
  // One customer per order: a customer's live stream then has one order's entries, in that order's order.
  for (let i = 0; i < 4; i++) {
    orderIds.push((await placeOrder(sys.write.ordering, menu.restaurantId, menu.menuItemIds, `rc${i}`)).orderId);
  }
  await sys.write.ordering.advanceOrder('ConfirmOrder', { orderId: orderIds[0]!, paymentId: 'p-0' }, ctx('saga'));
  await sys.write.ordering.advanceOrder('ConfirmOrder', { orderId: orderIds[1]!, paymentId: 'p-1' }, ctx('saga'));
  await sys.write.ordering.cancelOrder({ orderId: orderIds[2]!, reason: 'changed mind' }, ctx('rc2'));
  await outboxEmpty();
  await redisCaughtUp(1);
});

afterAll(async () => {
  if (sys) await unlinkMatching(redis, `${sys.config.topicPrefix}*`);
  await sys?.close();
  await redis?.quit();
});

describe('ledger projections rebuild ordering.order-status', () => {
  it('builds the next version beside the live one, equal to it, publishing nothing; drop removes the old one', async () => {
    const before = await dump();
    expect(versionsIn(before)).toEqual([1]);
    const live = await listen();
    const result = await ledgerJson<RebuildJson>(['projections', 'rebuild', ORDER_STATUS_PROJECTION, '--keep-old']);
    const orderEvents = Number(
      (await sys.write.db('events').where('stream_type', 'ordering.order').count({ n: '*' }).first())?.n,
    );
    expect(result).toMatchObject({
      projection: ORDER_STATUS_PROJECTION,
      version: 2,
      events: orderEvents,
      isolated: { count: 0 },
      activated: true,
      previous: { version: 1, dropped: false, keptBecause: '--keep-old' },
    });
    expect(await activeVersion(sys.read.readDb, ORDER_STATUS_PROJECTION, 1)).toBe(2);
    const both = await dump();
    expect(versionsIn(both)).toEqual([1, 2]);
    const version = (n: number) =>
      Object.fromEntries(Object.entries(both).filter(([k]) => !k.startsWith(`ordering:v${3 - n}:`)));
    expect(unversioned(version(2))).toEqual(unversioned(before));
    expect(unversioned(version(1))).toEqual(unversioned(before));
    expect(await live.messages()).toEqual([]);
    await live.close();

    // The projector follows the switch and leaves v1's group; then v1 can go, and only v1's keys go with it.
    await following(2);
    const dropped = await ledgerJson<Record<string, unknown>>(['projections', 'drop', ORDER_STATUS_PROJECTION, '1']);
    expect(dropped).toEqual({ projection: ORDER_STATUS_PROJECTION, version: 1, dropped: true });
    const left = await dump();
    expect(versionsIn(left)).toEqual([2]);
    expect(unversioned(left)).toEqual(unversioned(before));
    const active = await ledger(['projections', 'drop', ORDER_STATUS_PROJECTION, '2']);
    expect(active.code).toBe(1);
    expect(active.stderr).toMatch(/active version/);
  });

  it('after Redis lost its data: the rebuild restores hashes, counters and live streams as a fresh build made them', async () => {
    const current = await activeVersion(sys.read.readDb, ORDER_STATUS_PROJECTION, 1);
    await following(current);
    const prefix = sys.config.topicPrefix;
    const fresh = await dump();
    const lastSeen = new Map<string, string>();
    for (const key of Object.keys(fresh).filter((k) => k.startsWith('live:'))) {
      lastSeen.set(prefix + key, (await redis.xrevrange(prefix + key, '+', '-', 'COUNT', 1))[0]![0]);
    }
    expect(lastSeen.size).toBe(8); // four orders' streams and four customers'

    // Redis restarts without persistence: everything of this deployment is gone (only this test's prefix).
    await unlinkMatching(redis, `${prefix}*`);
    expect(await dump()).toEqual({});
    const live = await listen();
    const run = await ledger(['--json', 'projections', 'rebuild', ORDER_STATUS_PROJECTION]);
    expect(run.code, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout) as RebuildJson;
    expect(result).toMatchObject({
      version: current + 1,
      activated: true,
      isolated: { count: 0 },
      previous: { version: current },
    });
    expect(result.previous.dropped, String(result.previous.keptBecause)).toBe(true);

    const rebuilt = await dump();
    expect(versionsIn(rebuilt)).toEqual([current + 1]);
    expect(unversioned(rebuilt)).toEqual(unversioned(fresh));
    // Subscribers are unaffected: nothing published, and resuming from the last entry id a client was sent
    // before the loss yields nothing again (the restored entries carry the events' recorded times as ids).
    expect(await live.messages()).toEqual([]);
    for (const [key, id] of lastSeen) expect(await redis.xrange(key, `(${id}`, '+'), key).toEqual([]);
    await live.close();
  });

  it('the projector goes on with the rebuilt version from where the rebuild seeded its consumer group', async () => {
    const current = await activeVersion(sys.read.readDb, ORDER_STATUS_PROJECTION, 1);
    await following(current);
    const live = await listen();
    const orderId = orderIds[3]!;
    const orderStream = liveKeys(sys.config.topicPrefix).order(orderId);
    const entries = await redis.xlen(orderStream);
    await sys.write.ordering.cancelOrder({ orderId, reason: 'too slow' }, ctx('rc3'));
    await outboxEmpty();
    await redisCaughtUp(current);
    expect(await orderStatus(redis, sys.config.topicPrefix, current, orderId)).toMatchObject({
      status: 'CANCELLED',
      version: 2,
    });
    expect(await redis.xlen(orderStream)).toBe(entries + 1);
    const published = (await live.messages()).map((m) => JSON.parse(m) as { orderId: string; status: string });
    // Only the news: the seeded group did not consume the history again.
    expect(published).toEqual([expect.objectContaining({ orderId, status: 'CANCELLED' })]);
    await live.close();
  });
});
