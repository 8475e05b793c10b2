import { randomUUID } from 'node:crypto';
import { Client as SearchClient } from '@elastic/elasticsearch';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allProjections } from '../../projections/contexts.js';
import {
  MENU_SEARCH_PROJECTION,
  menuSearchAliasTargets,
  menuSearchIndex,
  switchMenuSearchAlias,
} from '../../projections/ordering/menu-search.js';
import { ORDER_STATUS_PROJECTION } from '../../projections/ordering/order-status-redis.js';
import { ORDERS_PROJECTION, ordersTables } from '../../projections/ordering/orders.js';
import { RESTAURANTS_PROJECTION, restaurantsTable } from '../../projections/ordering/restaurants.js';
import { versionKey } from '../../projections/runtime/tables.js';
import { activeVersion } from '../../projections/runtime/versions.js';
import { groupIdOf } from '../../runtime/consumer/types.js';
import { ensureSagaTables } from '../../sagas/runtime/tables.js';
import { topicsOf } from '../../schemas/catalog.js';
import { ledgerCli } from '../support/cli.js';
import { type ConsumedMessage, consumeUntil, testKafka } from '../support/kafka.js';
import { ctx, placeOrder, seedMenu } from '../support/ordering.js';
import { projectionCaughtUpWith, startTestSystem, type TestSystem, waitUntil } from '../support/system.js';

// The CLI as engineers run it: a separate process, configured only by the environment, against the real stack
// with the write side, relay and projector of startTestSystem running in this process.

let sys: TestSystem;
let menu: { restaurantId: string; menuItemIds: string[] };
const orderIds: string[] = [];

const { ledger, ledgerJson } = ledgerCli(() => ({ DATABASE_URL: sys.url, TOPIC_PREFIX: sys.config.topicPrefix }));

const topic = (name: string) => `${sys.config.topicPrefix}${name}`;

interface LagJson {
  topic: string;
  partition: number;
  committedOffset: number | null;
  endOffset: number;
  lag: number;
}
interface ProjectionListJson {
  kafka: { reachable: boolean; error: string | null };
  projections: {
    name: string;
    kind: string | null;
    rebuildable: boolean;
    activeVersion: number;
    status: string;
    consumerGroup: string;
    members: number | null;
    appliedStreams: number | null;
    lag: number | null;
    topics: { topic: string; lag: number | null }[];
    partitions: LagJson[];
    checkpoints: { topic: string; partition: number; offset: number; updatedAt: string }[];
  }[];
  consumerGroups:
    | {
        groupId: string;
        kind: string;
        name: string;
        version: number | null;
        active: boolean | null;
        status: string;
        members: number;
        lag: number;
        topics: { topic: string; lag: number }[];
        partitions: LagJson[];
      }[]
    | null;
}

const outboxEmpty = () =>
  waitUntil(
    async () => Number((await sys.write.db('outbox').count({ n: '*' }).first())?.n) === 0,
    30_000,
    'the relay to drain the outbox',
  );

/** Every order stream applied by the live (v1) projection, and its group's offsets committed to the ends. */
async function projectionCaughtUp(): Promise<void> {
  await projectionCaughtUpWith(sys.write.db, ORDERS_PROJECTION, 1, 'ordering.order');
  await groupCaughtUp(groupIdOf(sys.config.topicPrefix, { name: ORDERS_PROJECTION, version: 1 }));
}

/** A consumer group's offsets on the order topic committed up to its ends. */
async function groupCaughtUp(groupId: string): Promise<void> {
  const admin = testKafka().admin();
  await admin.connect();
  try {
    await waitUntil(
      async () => {
        const ends = await admin.fetchTopicOffsets(topic('ordering.order'));
        const committed = await admin.fetchOffsets({ groupId, topics: [topic('ordering.order')] });
        return ends.every((e) => {
          const c = committed[0]?.partitions.find((p) => p.partition === e.partition);
          return Number(e.high) === 0 || Number(c?.offset ?? -1) >= Number(e.high);
        });
      },
      30_000,
      'the projection group to commit up to the topic ends',
    );
  } finally {
    await admin.disconnect();
  }
}

const snapshot = async (version: number) => {
  const t = ordersTables(version);
  const db = sys.read.readDb;
  const orders = await db(t.orders).orderBy('order_id');
  const daily = await db(t.daily)
    .where('orders', '!=', 0)
    .orderBy(['restaurant_id', 'day', 'status'])
    .select('restaurant_id', 'day', 'status', 'orders', 'total_minor');
  return { orders, daily };
};

const tableExists = async (name: string) =>
  ((await sys.read.readDb.raw('SELECT to_regclass(?) IS NOT NULL AS ok', [name])).rows[0] as { ok: boolean }).ok;

const pgNow = async (): Promise<Date> =>
  ((await sys.write.db.raw('SELECT clock_timestamp() AS t')).rows[0] as { t: Date }).t;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  sys = await startTestSystem('cli');
  menu = await seedMenu(sys.write.ordering);
  for (let i = 0; i < 4; i++) {
    const { orderId } = await placeOrder(sys.write.ordering, menu.restaurantId, menu.menuItemIds, `c${i}`);
    orderIds.push(orderId);
  }
  await sys.write.ordering.advanceOrder('ConfirmOrder', { orderId: orderIds[0]!, paymentId: 'p-1' }, ctx('saga'));
  await sys.write.ordering.cancelOrder({ orderId: orderIds[1]!, reason: 'changed mind' }, ctx('c1'));
  await outboxEmpty();
  await projectionCaughtUp();
});
afterAll(() => sys?.close());

describe('ledger --json output', () => {
  it('streams list: { streams: [{ streamId, streamType, version, updatedAt }], count, truncated }', async () => {
    const all = await ledgerJson<{
      streams: { streamId: string; streamType: string; version: number; updatedAt: string }[];
      count: number;
      truncated: boolean;
    }>(['streams', 'list']);
    const inStore = Number((await sys.write.db('streams').count({ n: '*' }).first())?.n);
    expect(all.count).toBe(inStore);
    expect(all.truncated).toBe(false);
    for (const s of all.streams) {
      expect(Object.keys(s).sort()).toEqual(['streamId', 'streamType', 'updatedAt', 'version']);
      expect(new Date(s.updatedAt).toISOString()).toBe(s.updatedAt);
    }

    const orders = await ledgerJson<typeof all>(['streams', 'list', '--type', 'ordering.order', '--prefix', 'order-']);
    expect(orders.streams.map((s) => s.streamId).sort()).toEqual(orderIds.map((id) => `order-${id}`).sort());
    expect(orders.streams.find((s) => s.streamId === `order-${orderIds[0]}`)?.version).toBe(2);

    const limited = await ledgerJson<typeof all>(['streams', 'list', '--limit', '2']);
    expect(limited).toMatchObject({ count: 2, truncated: true });
  });

  it('streams show: the stream decoded with metadata, version, position and time recorded', async () => {
    const streamId = `order-${orderIds[0]}`;
    const shown = await ledgerJson<{
      streamId: string;
      streamType: string;
      version: number;
      events: {
        globalPosition: number;
        streamVersion: number;
        eventId: string;
        eventType: string;
        schemaId: number;
        recordedAt: string;
        metadata: { correlationId: string; actor: string };
        data: Record<string, unknown>;
        decodeError: string | null;
      }[];
    }>(['streams', 'show', streamId]);
    expect(shown).toMatchObject({ streamId, streamType: 'ordering.order', version: 2 });
    expect(shown.events.map((e) => [e.streamVersion, e.eventType])).toEqual([
      [1, 'OrderPlaced'],
      [2, 'OrderConfirmed'],
    ]);
    const [placed, confirmed] = shown.events;
    expect(placed).toMatchObject({ decodeError: null, metadata: { actor: 'c0' } });
    expect(placed!.data).toMatchObject({ orderId: orderIds[0], customerId: 'c0', restaurantId: menu.restaurantId });
    expect(confirmed!.data).toMatchObject({ paymentId: 'p-1' });
    expect(confirmed!.globalPosition).toBeGreaterThan(placed!.globalPosition);
    const stored = await sys.write.store.readStream(streamId);
    expect(shown.events.map((e) => e.eventId)).toEqual(stored.map((e) => e.eventId));
    expect(shown.events.map((e) => e.recordedAt)).toEqual(stored.map((e) => e.recordedAt.toISOString()));

    const fromTwo = await ledgerJson<typeof shown>(['streams', 'show', streamId, '--from-version', '2']);
    expect(fromTwo.events.map((e) => e.streamVersion)).toEqual([2]);

    const human = await ledger(['streams', 'show', streamId]);
    expect(human.stdout).toContain(`stream ${streamId} (ordering.order), version 2`);
    expect(human.stdout).toContain('OrderConfirmed');

    const missing = await ledger(['streams', 'show', 'order-nope']);
    expect(missing).toMatchObject({ code: 1, stdout: '', stderr: 'ledger: stream order-nope not found\n' });
  });

  it('events show: one event with where it is published', async () => {
    const [event] = await sys.write.store.readStream(`order-${orderIds[1]}`);
    const shown = await ledgerJson<{ eventId: string; eventType: string; topic: string; published: boolean }>([
      'events',
      'show',
      event!.eventId,
    ]);
    expect(shown).toMatchObject({
      eventId: event!.eventId,
      eventType: 'OrderPlaced',
      topic: topic('ordering.order'),
      published: true,
    });
  });

  it('outbox status: { unpublished, oldestAgeSeconds, shards, topics }, with events the relay cannot publish yet', async () => {
    expect(await ledgerJson(['outbox', 'status'])).toEqual({
      unpublished: 0,
      oldestAgeSeconds: 0,
      shards: [],
      topics: [],
    });
    // Holding every shard's relay lock (the relay's advisory lock namespace, "Rela") keeps the relay off the outbox.
    const holder = new pg.Client({ connectionString: sys.url });
    await holder.connect();
    try {
      await holder.query('SELECT pg_advisory_lock($1, s) FROM generate_series(0, $2 - 1) AS s', [
        0x52656c61,
        sys.config.outboxShards,
      ]);
      await placeOrder(sys.write.ordering, menu.restaurantId, menu.menuItemIds, 'held');
      await sleep(50);
      const status = await ledgerJson<{
        unpublished: number;
        oldestAgeSeconds: number;
        shards: { shard: number; unpublished: number; oldestAgeSeconds: number }[];
        topics: { topic: string; unpublished: number }[];
      }>(['outbox', 'status']);
      expect(status.unpublished).toBe(1);
      expect(status.oldestAgeSeconds).toBeGreaterThan(0);
      expect(status.shards).toHaveLength(1);
      expect(status.shards[0]).toMatchObject({ unpublished: 1 });
      expect(status.topics).toEqual([{ topic: topic('ordering.order'), unpublished: 1 }]);
    } finally {
      await holder.end();
    }
    await outboxEmpty();
  });

  it('projections list: active version, status, lag per partition, streams applied', async () => {
    await projectionCaughtUp();
    await groupCaughtUp(groupIdOf(sys.config.topicPrefix, { name: ORDER_STATUS_PROJECTION, version: 1 }));
    // A saga's consumer group, as sagas/main.ts names them, that has read nothing yet: all of the topic is its lag.
    const sagaGroup = `${sys.config.topicPrefix}saga.order-payment`;
    const admin = testKafka().admin();
    await admin.connect();
    const ends = await admin.fetchTopicOffsets(topic('ordering.order'));
    await admin.setOffsets({
      groupId: sagaGroup,
      topic: topic('ordering.order'),
      partitions: ends.map((p) => ({ partition: p.partition, offset: '0' })),
    });
    await admin.disconnect();
    const { projections, consumerGroups, kafka } = await ledgerJson<ProjectionListJson>(['projections', 'list']);
    expect(kafka).toEqual({ reachable: true, error: null });
    const orders = projections.find((p) => p.name === ORDERS_PROJECTION);
    const orderStreams = Number(
      (await sys.write.db('streams').where('stream_type', 'ordering.order').count({ n: '*' }).first())?.n,
    );
    expect(orders).toMatchObject({
      rebuildable: true,
      activeVersion: 1,
      status: 'running',
      consumerGroup: groupIdOf(sys.config.topicPrefix, { name: ORDERS_PROJECTION, version: 1 }),
      appliedStreams: orderStreams,
      lag: 0,
    });
    expect(orders!.members).toBeGreaterThan(0);
    expect(orders!.partitions).toHaveLength(6); // the relay creates topics with 6 partitions
    for (const p of orders!.partitions) {
      expect(p.topic).toBe(topic('ordering.order'));
      expect(p.lag).toBe(0);
      expect(p.endOffset - (p.committedOffset ?? 0)).toBe(0);
    }
    expect(orders!.partitions.reduce((n, p) => n + p.endOffset, 0)).toBeGreaterThan(0);
    expect(orders!.topics).toEqual([{ topic: topic('ordering.order'), lag: 0 }]);
    expect(orders!.checkpoints.length).toBeGreaterThan(0);

    // Every projection of projections/contexts.ts, the Redis one included, with its lag.
    expect(projections.map((p) => p.name).sort()).toEqual(allProjections.map((p) => p.name).sort());
    const status = projections.find((p) => p.name === ORDER_STATUS_PROJECTION);
    expect(status).toMatchObject({
      kind: 'custom',
      rebuildable: true,
      activeVersion: 1,
      status: 'running',
      appliedStreams: orderStreams,
      lag: 0,
      topics: [{ topic: topic('ordering.order'), lag: 0 }],
      checkpoints: [],
    });

    // Every consumer group of the deployment: the projections' and the saga's, with lag per topic.
    const groups = new Map(consumerGroups!.map((g) => [g.groupId, g]));
    for (const p of projections)
      expect(groups.get(p.consumerGroup)).toMatchObject({ kind: 'projection', active: true });
    const total = ends.reduce((n, p) => n + Number(p.high), 0);
    expect(groups.get(sagaGroup)).toEqual({
      groupId: sagaGroup,
      kind: 'saga',
      name: 'order-payment',
      version: null,
      active: null,
      status: 'stopped',
      members: 0,
      lag: total,
      topics: [{ topic: topic('ordering.order'), lag: total }],
      partitions: expect.any(Array),
    });

    const human = await ledger(['projections', 'list']);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain(`${ORDER_STATUS_PROJECTION} v1  running`);
    expect(human.stdout).toMatch(new RegExp(`${sagaGroup.replace(/\./g, '\\.')}\\s+saga`));
  });

  it('projections list with Kafka unreachable: what PostgreSQL knows, Kafka named, exit 1, no stack trace', async () => {
    const started = Date.now();
    const run = await ledger(['--json', 'projections', 'list'], { KAFKA_BROKERS: '127.0.0.1:1' });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /^ledger: cannot reach Kafka at 127\.0\.0\.1:1 \(ECONNREFUSED\): consumer groups and lag unknown, shown is what PostgreSQL knows\n$/,
    );
    expect(Date.now() - started).toBeLessThan(15_000);
    const listed = JSON.parse(run.stdout) as ProjectionListJson;
    expect(listed.kafka).toEqual({ reachable: false, error: 'cannot reach Kafka at 127.0.0.1:1 (ECONNREFUSED)' });
    expect(listed.consumerGroups).toBeNull();
    const orders = listed.projections.find((p) => p.name === ORDERS_PROJECTION)!;
    expect(orders).toMatchObject({ activeVersion: 1, status: 'unknown', members: null, lag: null, partitions: [] });
    expect(orders.topics).toEqual([{ topic: topic('ordering.order'), lag: null }]);
    const stored = await sys.read.readDb('projection_checkpoints').where('projection', `${ORDERS_PROJECTION}@1`);
    expect(orders.checkpoints.map((c) => [c.topic, c.partition, c.offset]).sort()).toEqual(
      stored.map((r) => [r.topic, r.partition, Number(r.offset)]).sort(),
    );
    expect(listed.projections.find((p) => p.name === ORDER_STATUS_PROJECTION)).toMatchObject({
      status: 'unknown',
      lag: null,
    });

    const human = await ledger(['projections', 'list'], { KAFKA_BROKERS: '127.0.0.1:1' });
    expect(human.code).toBe(1);
    expect(human.stdout).toContain(`${ORDERS_PROJECTION} v1  unknown  lag unknown`);
    expect(human.stdout).toContain('CHECKPOINT');
    expect(human.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('ledger schemas', () => {
  it('lists the registered subjects under the prefix and checks the working tree against them', async () => {
    const { schemas } = await ledgerJson<{
      schemas: {
        eventType: string;
        subject: string;
        registered: { id: number; version: number } | null;
        current: boolean;
      }[];
    }>(['schemas', 'list']);
    const placed = schemas.find((s) => s.eventType === 'OrderPlaced');
    expect(placed).toMatchObject({
      subject: `${topic('ordering.order')}-ledgerline.ordering.OrderPlaced`,
      registered: { id: sys.write.codec.schemaIdOf('OrderPlaced'), version: 1 },
      current: true,
    });
    const check = await ledgerJson<{ checked: number; incompatible: number }>(['schemas', 'check']);
    expect(check).toMatchObject({ checked: schemas.length, incompatible: 0 });
  });
});

describe('ledger replay', () => {
  it('--to-projection applies what the projection has not seen and skips what it has', async () => {
    await sys.stopProjector();
    const { orderId } = await placeOrder(sys.write.ordering, menu.restaurantId, menu.menuItemIds, 'replayed');
    await sys.write.ordering.advanceOrder('ConfirmOrder', { orderId, paymentId: 'p-r' }, ctx('saga'));
    const streamId = `order-${orderId}`;
    try {
      const dry = await ledgerJson<Record<string, unknown>>([
        'replay',
        '--stream',
        streamId,
        '--to-projection',
        ORDERS_PROJECTION,
        '--dry-run',
      ]);
      expect(dry).toMatchObject({ dryRun: true, applied: 2, skipped: 0, ignored: 0, selected: { count: 2 } });
      expect(await sys.read.readDb(ordersTables(1).orders).where('order_id', orderId).first()).toBeUndefined();

      const args = ['replay', '--stream', streamId, '--to-projection', ORDERS_PROJECTION];
      const first = await ledgerJson<Record<string, unknown>>(args);
      expect(first).toMatchObject({
        dryRun: false,
        target: { kind: 'projection', projection: ORDERS_PROJECTION, version: 1 },
        selected: { count: 2, byType: { OrderPlaced: 1, OrderConfirmed: 1 } },
        applied: 2,
        skipped: 0,
        ignored: 0,
        isolated: { count: 0, events: [] },
        republished: 0,
      });
      expect(await sys.read.readDb(ordersTables(1).orders).where('order_id', orderId).first()).toMatchObject({
        status: 'CONFIRMED',
        version: 2,
      });
      const again = await ledgerJson<Record<string, unknown>>(args);
      expect(again).toMatchObject({ applied: 0, skipped: 2 });

      const everything = await ledgerJson<{
        selected: { count: number };
        applied: number;
        skipped: number;
        ignored: number;
      }>(['replay', '--all', '--to-projection', ORDERS_PROJECTION]);
      const orderEvents = Number(
        (await sys.write.db('events').where('stream_type', 'ordering.order').count({ n: '*' }).first())?.n,
      );
      expect(everything).toMatchObject({ applied: 0, skipped: orderEvents });
      expect(everything.ignored).toBe(everything.selected.count - orderEvents);
    } finally {
      await sys.startProjector();
    }
    // The projector receives those events from Kafka too, and skips them: the read model is unchanged.
    await outboxEmpty();
    await projectionCaughtUp();
    expect(await sys.read.readDb(ordersTables(1).orders).where('order_id', orderId).first()).toMatchObject({
      status: 'CONFIRMED',
      version: 2,
    });
  });

  it('--from-time --to-time --republish re-publishes exactly the events of that range, as the relay did', async () => {
    await outboxEmpty();
    await sleep(20);
    const from = await pgNow();
    await sleep(20);
    const inRange: string[] = [];
    for (let i = 0; i < 3; i++) {
      const { orderId } = await placeOrder(sys.write.ordering, menu.restaurantId, menu.menuItemIds, `r${i}`);
      inRange.push(`order-${orderId}`);
    }
    await sys.write.ordering.advanceOrder('AcceptOrder', { orderId: inRange[0]!.slice(6) }, ctx('owner'));
    await sleep(20);
    const to = await pgNow();
    await sleep(20);
    await placeOrder(sys.write.ordering, menu.restaurantId, menu.menuItemIds, 'after');
    await outboxEmpty();

    const expected = await sys.write.db('events').whereIn('stream_id', inRange).orderBy('global_position');
    const expectedIds = expected.map((e: { event_id: string }) => e.event_id);
    expect(expectedIds).toHaveLength(4);
    const topics = topicsOf().map(topic);
    const admin = testKafka().admin();
    await admin.connect();
    const ends = async () => {
      const out = new Map<string, number>();
      for (const t of topics) {
        for (const p of await admin.fetchTopicOffsets(t)) out.set(`${t}/${p.partition}`, Number(p.high));
      }
      return out;
    };
    const before = await ends();
    const range = ['replay', '--from-time', from.toISOString(), '--to-time', to.toISOString(), '--republish'];

    const dry = await ledgerJson<{
      dryRun: boolean;
      selected: { count: number; firstPosition: number; lastPosition: number; byType: Record<string, number> };
      republished: number;
    }>([...range, '--dry-run']);
    expect(dry).toMatchObject({
      dryRun: true,
      republished: 0,
      selected: {
        count: 4,
        firstPosition: expected[0].global_position,
        lastPosition: expected.at(-1).global_position,
        byType: { OrderPlaced: 3, OrderAccepted: 1 },
      },
    });
    expect(await ends()).toEqual(before);

    const done = await ledgerJson<{ republished: number; target: { kind: string; topics: string[] } }>(range);
    expect(done).toMatchObject({ republished: 4, target: { kind: 'republish', topics: [topic('ordering.order')] } });
    await admin.disconnect();

    const isNew = (m: ConsumedMessage) => Number(m.offset) >= (before.get(`${m.topic}/${m.partition}`) ?? 0);
    const messages = await consumeUntil(topics, (ms) => ms.filter(isNew).length >= 4, 30_000);
    const republished = messages.filter(isNew);
    expect(republished.map((m) => m.headers['event-id']).sort()).toEqual([...expectedIds].sort());
    // Same key, value bytes and headers as the relay's original message of each event.
    for (const copy of republished) {
      const original = messages.find((m) => !isNew(m) && m.headers['event-id'] === copy.headers['event-id']);
      expect(original, copy.headers['event-id']).toBeDefined();
      expect(copy.key).toBe(original!.key);
      expect(copy.partition).toBe(original!.partition);
      expect(copy.value.equals(original!.value)).toBe(true);
      expect(copy.headers).toEqual(original!.headers);
    }
    // Order within each stream is kept (one partition per key, published in position order).
    for (const streamId of inRange) {
      const versions = republished.filter((m) => m.key === streamId).map((m) => Number(m.headers['stream-version']));
      expect(versions).toEqual([...versions].sort((a, b) => a - b));
    }
  });
});

describe('ledger events tail', () => {
  it('follows a topic from the beginning, decoded, and stops at --limit', async () => {
    const tailed = await ledgerJson<{
      events: { topic: string; eventId: string; eventType: string; streamId: string; data: Record<string, unknown> }[];
      count: number;
      stoppedBy: string;
    }>(['events', 'tail', '--topic', 'ordering.order', '--from-beginning', '--limit', '3']);
    expect(tailed).toMatchObject({ count: 3, stoppedBy: 'limit' });
    for (const e of tailed.events) {
      expect(e.topic).toBe(topic('ordering.order'));
      expect(e.streamId).toMatch(/^order-/);
      expect(e.data).toMatchObject({ orderId: e.streamId.slice('order-'.length) });
    }
    const human = await ledger([
      'events',
      'tail',
      '--topic',
      'ordering.restaurant',
      '--from-beginning',
      '--limit',
      '1',
    ]);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain('RestaurantRegistered');
    expect(human.stdout.trim().split('\n')).toHaveLength(1);
  });

  it('stops at --timeout when nothing new arrives', async () => {
    const started = Date.now();
    const tailed = await ledgerJson<{ count: number; stoppedBy: string }>([
      'events',
      'tail',
      '--topic',
      'ordering.payment',
      '--timeout',
      '2',
    ]);
    expect(tailed).toEqual({ events: [], count: 0, stoppedBy: 'timeout' });
    expect(Date.now() - started).toBeLessThan(15_000);
  });
});

describe('ledger dlq', () => {
  it('lists a dead letter with its reason and re-publishes it to its source topic', async () => {
    const source = topic('ordering.order');
    const producer = testKafka().producer();
    await producer.connect();
    const poisonId = randomUUID();
    await producer.send({
      topic: source,
      messages: [
        {
          key: 'order-poison',
          value: Buffer.from('not avro'),
          headers: { 'event-id': poisonId, 'stream-id': 'order-poison', 'stream-version': '1', 'global-position': '1' },
        },
      ],
    });
    await producer.disconnect();
    const dlqTopic = `${source}.dlq.projection.${ORDERS_PROJECTION}.v1`;
    type Letters = {
      topics: string[];
      messages: {
        topic: string;
        partition: number;
        offset: string;
        eventId: string;
        reason: string;
        sourceTopic: string;
      }[];
      complete: boolean;
    };
    const listed = await waitUntil(
      async () => {
        const run = await ledger(['--json', 'dlq', 'list']);
        if (run.code !== 0) return false;
        const letters = JSON.parse(run.stdout) as Letters;
        return letters.messages.some((m) => m.eventId === poisonId && m.topic === dlqTopic) ? letters : false;
      },
      40_000,
      'the poison message to be dead-lettered',
    );
    expect(listed.topics).toContain(dlqTopic);
    expect(listed.complete).toBe(true);
    // Every projection consuming the topic dead-letters the poison to its own topic; this one is the orders'.
    const letter = listed.messages.find((m) => m.eventId === poisonId && m.topic === dlqTopic)!;
    expect(letter).toMatchObject({ topic: dlqTopic, sourceTopic: source });
    expect(letter.reason).toMatch(/magic byte|Confluent wire format/);

    const dlqName = dlqTopic.slice(sys.config.topicPrefix.length);
    const retryArgs = ['dlq', 'retry', dlqName, letter.offset, '--partition', String(letter.partition)];
    const dry = await ledgerJson<Record<string, unknown>>([...retryArgs, '--dry-run']);
    expect(dry).toMatchObject({ dryRun: true, republished: false, sourceTopic: source, eventId: poisonId });
    const retried = await ledgerJson<Record<string, unknown>>(retryArgs);
    expect(retried).toMatchObject({ dryRun: false, republished: true, sourceTopic: source });
    const copies = await consumeUntil(
      [source],
      (ms) => ms.filter((m) => m.headers['event-id'] === poisonId).length >= 2,
      20_000,
    );
    const again = copies.filter((m) => m.headers['event-id'] === poisonId);
    expect(again).toHaveLength(2);
    expect(again[1]!.value.toString()).toBe('not avro');
    expect(Object.keys(again[1]!.headers).filter((h) => h.startsWith('dlq-'))).toEqual([]);
  });
});

describe('ledger projections rebuild', () => {
  it('builds the next version equal to the live one, switches reads to it, and keeps the old one while it is consumed', async () => {
    await outboxEmpty();
    await projectionCaughtUp();
    // No hand-over wait: the in-process projector is still on v1 at that instant, so v1 is kept.
    const run = await ledger([
      '--json',
      'projections',
      'rebuild',
      ORDERS_PROJECTION,
      '--batch-size',
      '3',
      '--handover-timeout',
      '0',
    ]);
    expect(run.code, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout);
    const orderEvents = Number(
      (await sys.write.db('events').where('stream_type', 'ordering.order').count({ n: '*' }).first())?.n,
    );
    expect(result).toEqual({
      projection: ORDERS_PROJECTION,
      version: 2,
      events: orderEvents,
      seconds: expect.any(Number),
      isolated: { count: 0, events: [] },
      activated: true,
      previous: { version: 1, dropped: false, keptBecause: expect.stringMatching(/member/) },
    });
    // The in-process projector still consumes v1: the CLI says so (on stderr, not in the JSON).
    expect(run.stderr).toMatch(/still consume/);
    expect(await snapshot(2)).toEqual(await snapshot(1));
    expect(await activeVersion(sys.read.readDb, ORDERS_PROJECTION, 1)).toBe(2);
  });

  it('waits for the running projector to follow the switch, then drops the previous version', async () => {
    // The projector follows every few seconds; rebuilding again before it reached v2 is another test.
    await waitUntil(
      async () => sys.projector?.runners.get(ORDERS_PROJECTION)?.version === 2,
      30_000,
      'the projector to follow the switch to v2',
    );
    const result = await ledgerJson<{ version: number; previous: { version: number; dropped: boolean } }>([
      'projections',
      'rebuild',
      ORDERS_PROJECTION,
    ]);
    expect(result).toMatchObject({ version: 3, previous: { version: 2, dropped: true } });
    expect(await tableExists(ordersTables(2).orders)).toBe(false);
    expect(await snapshot(3)).toEqual(await snapshot(1));
    const left = await sys.read
      .readDb('projection_streams')
      .where('projection', versionKey(ORDERS_PROJECTION, 2))
      .first();
    expect(left).toBeUndefined();

    const dropActive = await ledger(['projections', 'drop', ORDERS_PROJECTION, '3']);
    expect(dropActive.code).toBe(1);
    expect(dropActive.stderr).toMatch(/active version/);
  });

  it('rebuilds the restaurants and the menu search too; the search alias follows the switch', async () => {
    await projectionCaughtUpWith(sys.write.db, RESTAURANTS_PROJECTION, 1, 'ordering.restaurant');
    const before = await sys.read.readDb(restaurantsTable(1)).orderBy('restaurant_id').select();
    expect(before.length).toBeGreaterThan(0);
    const restaurants = await ledgerJson<Record<string, unknown>>([
      'projections',
      'rebuild',
      RESTAURANTS_PROJECTION,
      '--keep-old',
    ]);
    expect(restaurants).toMatchObject({ version: 2, activated: true, isolated: { count: 0 } });
    expect(await sys.read.readDb(restaurantsTable(2)).orderBy('restaurant_id').select()).toEqual(before);

    const search = new SearchClient({ node: sys.config.searchUrl });
    try {
      const prefix = sys.config.topicPrefix;
      const menu = await ledgerJson<Record<string, unknown>>([
        'projections',
        'rebuild',
        MENU_SEARCH_PROJECTION,
        '--keep-old',
      ]);
      expect(menu).toMatchObject({ version: 2, activated: true, isolated: { count: 0 } });
      expect(await menuSearchAliasTargets(search, prefix)).toEqual([menuSearchIndex(prefix, 2)]);
      await search.indices.refresh({ index: [menuSearchIndex(prefix, 1), menuSearchIndex(prefix, 2)] });
      const count = async (version: number) => (await search.count({ index: menuSearchIndex(prefix, version) })).count;
      expect(await count(2)).toBe(await count(1));
      expect(await count(2)).toBeGreaterThan(0);
      // An index the alias still points at is never dropped (say a switch half-failed and reads stayed on v1).
      await waitUntil(
        async () => sys.projector?.runners.get(MENU_SEARCH_PROJECTION)?.version === 2,
        30_000,
        'the projector to follow menu search to v2',
      );
      await switchMenuSearchAlias(search, prefix, 1);
      const drop = await ledger(['projections', 'drop', MENU_SEARCH_PROJECTION, '1']);
      expect(drop.code).toBe(1);
      expect(drop.stderr).toMatch(/is still read: the search alias points at/);
      expect(await search.indices.exists({ index: menuSearchIndex(prefix, 1) })).toBe(true);
      await switchMenuSearchAlias(search, prefix, 2);
    } finally {
      await search.close();
    }
  });

  it('refuses an unknown projection as a wrong invocation', async () => {
    const run = await ledger(['projections', 'rebuild', 'nope.nothing']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/unknown projection nope\.nothing/);
    expect(run.stderr).toContain('Usage: ledger projections rebuild');
  });
});

describe('ledger failures', () => {
  it('wrong arguments: exit 2 and the usage on stderr, nothing on stdout', async () => {
    for (const args of [['streams', 'list', '--limit', 'many'], ['replay', '--stream', 'order-1'], ['frobnicate']]) {
      const run = await ledger(args);
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr).toContain('Usage: ledger');
      expect(run.stdout).toBe('');
    }
  });

  it.each([
    [
      'PostgreSQL',
      ['streams', 'list'],
      { DATABASE_URL: 'postgres://postgres@127.0.0.1:1/nowhere' },
      /^ledger: cannot reach PostgreSQL at 127\.0\.0\.1:1 \(ECONNREFUSED\)\n$/,
    ],
    [
      'Kafka',
      ['dlq', 'list'],
      { KAFKA_BROKERS: '127.0.0.1:1' },
      /^ledger: cannot reach Kafka at 127\.0\.0\.1:1 \(ECONNREFUSED\)\n$/,
    ],
    [
      'Kafka (tail)',
      ['events', 'tail', '--limit', '1'],
      { KAFKA_BROKERS: '127.0.0.1:1' },
      /^ledger: cannot reach Kafka at 127\.0\.0\.1:1 \(ECONNREFUSED\)\n$/,
    ],
    [
      'the schema registry',
      ['schemas', 'list'],
      { SCHEMA_REGISTRY_URL: 'http://127.0.0.1:2/apis/ccompat/v7' },
      /^ledger: cannot reach the schema registry at 127\.0\.0\.1:2 \(ECONNREFUSED\)\n$/,
    ],
  ])('%s unreachable: one line naming it, exit 1, no stack trace, quickly', async (_name, args, env, line) => {
    const started = Date.now();
    const run = await ledger(args, env);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(line);
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect(run.stdout).toBe('');
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it('sagas show: a clear error while the saga tables do not exist', async () => {
    const run = await ledger(['sagas', 'show', 'some-saga']);
    expect(run).toEqual({ code: 1, stdout: '', stderr: 'ledger: sagas are not available in this database yet\n' });
  });
});

describe('ledger sagas show', () => {
  it('shows a saga with its timeline, commands and deadlines once the saga tables exist', async () => {
    await ensureSagaTables(sys.write.db);
    const sagaId = randomUUID();
    const key = { saga_type: 'order-payment', saga_id: sagaId };
    await sys.write.db('saga_instances').insert({
      ...key,
      status: 'AWAITING_ACCEPTANCE',
      state: JSON.stringify({ orderId: sagaId, paymentId: 'p-9' }),
      version: 2,
    });
    await sys.write
      .db('saga_timeline')
      .insert({ ...key, kind: 'event', detail: JSON.stringify({ type: 'OrderPlaced' }) });
    await sys.write.db('saga_commands').insert({
      ...key,
      step: 'authorize',
      kind: 'AuthorizePayment',
      payload: JSON.stringify({ amountMinor: 1200 }),
      status: 'done',
      attempts: 1,
    });
    await sys.write.db('saga_deadlines').insert({ ...key, name: 'acceptance', due_at: new Date(Date.now() + 60_000) });

    const shown = await ledgerJson<Record<string, unknown>>(['sagas', 'show', sagaId]);
    expect(shown).toMatchObject({
      saga: {
        sagaType: 'order-payment',
        sagaId,
        status: 'AWAITING_ACCEPTANCE',
        version: 2,
        state: { paymentId: 'p-9' },
      },
      timeline: [{ kind: 'event', detail: { type: 'OrderPlaced' } }],
      commands: [{ step: 'authorize', kind: 'AuthorizePayment', status: 'done', attempts: 1, lastError: null }],
      deadlines: [{ name: 'acceptance', status: 'scheduled', firedAt: null }],
    });
    const human = await ledger(['sagas', 'show', sagaId]);
    expect(human.stdout).toContain(`saga order-payment ${sagaId}  AWAITING_ACCEPTANCE  version 2`);

    const missing = await ledger(['sagas', 'show', 'no-such-saga']);
    expect(missing).toMatchObject({ code: 1, stderr: 'ledger: saga no-such-saga not found\n' });
  });
});
