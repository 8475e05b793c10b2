import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { orders } from '../../commands/ordering/aggregates.js';
import type { OrderingCommands } from '../../commands/ordering/handlers.js';
import { ORDERS_PROJECTION, ordersReadModel, ordersTables } from '../../projections/ordering/orders.js';
import { postgresProjection } from '../../projections/runtime/postgres.js';
import { rebuildPostgresProjection } from '../../projections/runtime/rebuild.js';
import { versionKey } from '../../projections/runtime/tables.js';
import { activateVersion, activeVersion } from '../../projections/runtime/versions.js';
import { ProjectionRunner } from '../../runtime/consumer/runner.js';
import { createKafka } from '../../runtime/kafka.js';
import { createLogger } from '../../runtime/log.js';
import { uniqueSuffix } from '../support/env.js';
import { consumeUntil, testKafka } from '../support/kafka.js';
import { ctx, placeOrder, seedMenu } from '../support/ordering.js';
import { projectionCaughtUpWith, startTestSystem, type TestSystem, waitUntil } from '../support/system.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
let sys: TestSystem;
beforeAll(async () => {
  sys = await startTestSystem('ordersproj');
});
afterAll(() => sys?.close());

const snapshot = async (version = 1) => {
  const t = ordersTables(version);
  const orders = await sys.read.readDb(t.orders).orderBy('order_id');
  const daily = await sys.read
    .readDb(t.daily)
    .where('orders', '!=', 0)
    .orderBy(['restaurant_id', 'day', 'status'])
    .select('restaurant_id', 'day', 'status', 'orders', 'total_minor');
  return { orders, daily };
};
const caughtUp = () => projectionCaughtUpWith(sys.write.db, ORDERS_PROJECTION, 1, 'ordering.order');

/** One step of the order lifecycle, chosen at random by the property test. */
type Step = 'place' | 'confirm' | 'accept' | 'prepare' | 'ready' | 'pickup' | 'deliver' | 'cancel' | 'reject';
const steps: Step[] = ['place', 'confirm', 'accept', 'prepare', 'ready', 'pickup', 'deliver', 'cancel', 'reject'];

async function runStep(
  ordering: OrderingCommands,
  step: Step,
  orderIds: string[],
  menu: { restaurantId: string; menuItemIds: string[] },
  pick: number,
) {
  if (step === 'place' || orderIds.length === 0) {
    const { orderId } = await placeOrder(
      ordering,
      menu.restaurantId,
      menu.menuItemIds.slice(0, 1 + (pick % 3)),
      `c${pick % 4}`,
    );
    orderIds.push(orderId);
    return;
  }
  const orderId = orderIds[pick % orderIds.length]!;
  const byStep = {
    confirm: () => ordering.advanceOrder('ConfirmOrder', { orderId, paymentId: `p-${orderId}` }, ctx('saga')),
    accept: () => ordering.advanceOrder('AcceptOrder', { orderId }, ctx('owner')),
    prepare: () => ordering.advanceOrder('MarkOrderPreparing', { orderId }, ctx('owner')),
    ready: () => ordering.advanceOrder('MarkOrderReady', { orderId }, ctx('owner')),
    pickup: () => ordering.advanceOrder('MarkOrderPickedUp', { orderId }, ctx('courier')),
    deliver: () => ordering.advanceOrder('MarkOrderDelivered', { orderId }, ctx('courier')),
    cancel: () => ordering.cancelOrder({ orderId, reason: 'changed mind' }, ctx('c1')),
    reject: () => ordering.advanceOrder('RejectOrder', { orderId, reason: 'declined' }, ctx('saga')),
  };
  // Refusals (a step not allowed in the order's state) are part of a random walk: they append nothing.
  await byStep[step]().catch((error: { code?: string }) => {
    if (!error.code) throw error;
  });
}

describe('orders projection', () => {
  it('shows a placed order with read-your-writes, and its lifecycle', async () => {
    const menu = await seedMenu(sys.write.ordering);
    const placed = await placeOrder(sys.write.ordering, menu.restaurantId, menu.menuItemIds);
    await sys.read.ordering.waiter.waitFor(placed.position, ordersReadModel(1));
    const view = await sys.read.ordering.orders.byId(placed.orderId);
    expect(view).toMatchObject({
      status: 'PENDING',
      restaurantId: menu.restaurantId,
      customerId: 'c1',
      version: 1,
      totalMinor: 500 + 600 * 2 + 700 * 3,
    });
    await sys.write.ordering.advanceOrder('ConfirmOrder', { orderId: placed.orderId, paymentId: 'p1' }, ctx('saga'));
    const accepted = await sys.write.ordering.advanceOrder('AcceptOrder', { orderId: placed.orderId }, ctx('owner'));
    await sys.read.ordering.waiter.waitFor(accepted.position, ordersReadModel(1));
    expect(await sys.read.ordering.orders.byId(placed.orderId)).toMatchObject({
      status: 'CONFIRMED',
      accepted: true,
      paymentId: 'p1',
      version: 3,
    });
    const figures = await sys.read.ordering.orders.dailyFigures(
      menu.restaurantId,
      String(view!.placedAt).slice(0, 10), // the order's day, not today: the test may straddle midnight
    );
    expect(figures).toMatchObject({
      orders: 1,
      byStatus: { CONFIRMED: { orders: 1 } },
      revenueMinor: view!.totalMinor,
    });
  });

  it('changes nothing when every message is delivered again (forced redelivery through a second consumer group)', async () => {
    const menu = await seedMenu(sys.write.ordering);
    for (let i = 0; i < 5; i++) await placeOrder(sys.write.ordering, menu.restaurantId, menu.menuItemIds);
    await caughtUp();
    const before = await snapshot();
    const logger = createLogger('redelivery', 'silent');
    const kafka = createKafka(sys.config.kafkaBrokers, 'redelivery', logger);
    const producer = kafka.producer();
    await producer.connect();
    const replayGroup = `${sys.config.topicPrefix}replay-${uniqueSuffix()}`;
    const runner = new ProjectionRunner(
      kafka,
      producer,
      sys.write.codec,
      postgresProjection(sys.read.readDb, ordersReadModel(1)),
      logger,
      {
        topicPrefix: sys.config.topicPrefix,
        groupId: replayGroup,
      },
    );
    await runner.start();
    const admin = kafka.admin();
    await admin.connect();
    const topic = `${sys.config.topicPrefix}ordering.order`;
    const ends = await admin.fetchTopicOffsets(topic);
    await waitUntil(
      async () => {
        const committed = await admin.fetchOffsets({ groupId: replayGroup, topics: [topic] });
        return committed[0]!.partitions.every((p) => {
          const high = Number(ends.find((e) => e.partition === p.partition)!.high);
          return high === 0 || Number(p.offset) >= high; // an empty partition has nothing to commit
        });
      },
      30_000,
      'the replay group to reach the end of the topic',
    );
    await runner.stop();
    await admin.disconnect();
    await producer.disconnect();
    expect(await snapshot()).toEqual(before);
  });

  it('property: after random valid commands the live read model equals one rebuilt from the event store', async () => {
    const menu = await seedMenu(sys.write.ordering);
    let version = 10;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.constantFrom(...steps), fc.nat(100)), { minLength: 5, maxLength: 40 }),
        async (walk) => {
          const orderIds: string[] = [];
          for (const [step, pick] of walk) await runStep(sys.write.ordering, step, orderIds, menu, pick);
          await caughtUp();
          version++;
          await rebuildPostgresProjection({
            store: sys.write.store,
            readDb: sys.read.readDb,
            codec: sys.write.codec,
            model: ordersReadModel(version),
            topicPrefix: sys.config.topicPrefix,
            activate: false,
          });
          expect(await snapshot(version)).toEqual(await snapshot(1));
          await ordersReadModel(version).dropTables(sys.read.readDb);
        },
      ),
      { numRuns: 8 },
    );
  });

  it('rebuilds a new version side by side, switches reads to it, and the old one can be dropped', async () => {
    const menu = await seedMenu(sys.write.ordering);
    const placed = await placeOrder(sys.write.ordering, menu.restaurantId, menu.menuItemIds);
    await caughtUp();
    const progress: number[] = [];
    const admin = testKafka().admin();
    await admin.connect();
    const result = await rebuildPostgresProjection({
      store: sys.write.store,
      readDb: sys.read.readDb,
      codec: sys.write.codec,
      model: ordersReadModel(2),
      topicPrefix: sys.config.topicPrefix,
      admin,
      batchSize: 3,
      onProgress: (p) => progress.push(p.read),
    });
    await admin.disconnect();
    expect(result.events).toBeGreaterThan(0);
    expect(progress.at(-1)).toBe(result.events);
    expect(await snapshot(2)).toEqual(await snapshot(1));
    // A rebuild skips reading the versions seen (it builds an emptied version, in log order), yet records each
    // stream's last version and position as the live projector does: live consumption dedupes against them
    // once reads switch. Batches of 3 split streams across batches, so continued streams are covered.
    const seen = async (version: number) =>
      (
        await sys.read
          .readDb('projection_streams')
          .where('projection', versionKey(ORDERS_PROJECTION, version))
          .select('stream_id', 'version', 'position')
      )
        .map((r: { stream_id: string; version: number; position: string | number }) => ({
          ...r,
          position: Number(r.position),
        }))
        .sort((a, b) => a.stream_id.localeCompare(b.stream_id));
    expect((await seen(2)).length).toBeGreaterThan(0);
    expect(await seen(2)).toEqual(await seen(1));
    // The query side switches within its cache period.
    await waitUntil(
      async () => (await sys.read.ordering.ordersProjection()).version === 2,
      5000,
      'the switch to version 2',
    );
    expect(await sys.read.ordering.orders.byId(placed.orderId)).toMatchObject({ orderId: placed.orderId });
    await activateVersion(sys.read.readDb, ORDERS_PROJECTION, 1);
    await ordersReadModel(2).dropTables(sys.read.readDb);
  });

  it('sends a poison message to the dead-letter topic with its reason and keeps going', async () => {
    const topic = `${sys.config.topicPrefix}ordering.order`;
    const producer = testKafka().producer();
    await producer.connect();
    const poisonId = randomUUID();
    await producer.send({
      topic,
      messages: [
        {
          key: 'order-poison',
          value: Buffer.from('definitely not avro'),
          headers: {
            'event-id': poisonId,
            'stream-id': 'order-poison',
            'stream-version': '1',
            'global-position': '999999',
          },
        },
      ],
    });
    await producer.disconnect();
    const menu = await seedMenu(sys.write.ordering);
    const after = await placeOrder(sys.write.ordering, menu.restaurantId, menu.menuItemIds);
    await sys.read.ordering.waiter.waitFor(after.position, ordersReadModel(1), { timeoutMs: 20_000 });
    const dlq = `${topic}.dlq.projection.${ORDERS_PROJECTION}.v1`;
    const dead = await consumeUntil([dlq], (m) => m.some((x) => x.headers['event-id'] === poisonId), 20_000);
    const letter = dead.find((x) => x.headers['event-id'] === poisonId);
    expect(letter?.headers['dlq-reason']).toMatch(/Confluent wire format|magic byte/);
    expect(letter?.headers['dlq-source-topic']).toBe(topic);
  });
});

describe('rebuild with a poison event in the store', () => {
  it('isolates it and the rest of its stream, as the live projector dead-letters them, and finishes', async () => {
    const poisonOrder = randomUUID();
    const streamId = orders.streamId(poisonOrder);
    const accepted = sys.write.codec.encode('OrderAccepted', {
      orderId: poisonOrder,
      acceptedAt: '2026-01-01T00:00:00Z',
    });
    const poison = {
      eventId: randomUUID(),
      eventType: 'OrderPlaced',
      schemaId: accepted.schemaId,
      payload: Buffer.from('not avro'),
    };
    const later = { eventId: randomUUID(), eventType: 'OrderAccepted', ...accepted };
    const metadata = { correlationId: randomUUID(), causationId: null, actor: 'test' };
    const base = { streamId, streamType: orders.streamType, metadata };
    await sys.write.store.append({ ...base, expectedVersion: 'no_stream', events: [poison] });
    await sys.write.store.append({ ...base, expectedVersion: 1, events: [later] });
    const menu = await seedMenu(sys.write.ordering);
    const placed = await placeOrder(sys.write.ordering, menu.restaurantId, menu.menuItemIds);
    try {
      const dlq = `${sys.config.topicPrefix}ordering.order.dlq.projection.${ORDERS_PROJECTION}.v1`;
      const ids = [poison.eventId, later.eventId];
      await consumeUntil([dlq], (m) => ids.every((id) => m.some((x) => x.headers['event-id'] === id)), 30_000);
      await sys.read.ordering.waiter.waitFor(placed.position, ordersReadModel(1), { timeoutMs: 20_000 });
      const result = await rebuildPostgresProjection({
        store: sys.write.store,
        readDb: sys.read.readDb,
        codec: sys.write.codec,
        model: ordersReadModel(4),
        topicPrefix: sys.config.topicPrefix,
        batchSize: 50,
        activate: false,
      });
      expect(result.isolated.count).toBe(2);
      expect(result.isolated.events.map((e) => [e.eventId, e.streamVersion])).toEqual([
        [poison.eventId, 1],
        [later.eventId, 2],
      ]);
      expect(result.isolated.events[0]!.reason).toMatch(/Confluent wire format|magic byte/);
      expect(result.isolated.events[1]!.reason).toMatch(/missing version 1/);
      expect(result.activated).toBe(false); // activate: false
      expect(result.events).toBeGreaterThan(2);
      expect(await snapshot(4)).toEqual(await snapshot(1));
      await ordersReadModel(4).dropTables(sys.read.readDb);
      // Left-out events may be poison only to the new build: without acceptIsolated, reads do not switch.
      const unswitched = await rebuildPostgresProjection({
        store: sys.write.store,
        readDb: sys.read.readDb,
        codec: sys.write.codec,
        model: ordersReadModel(5),
        topicPrefix: sys.config.topicPrefix,
      });
      expect(unswitched).toMatchObject({ activated: false, isolated: { count: 2 } });
      expect(await activeVersion(sys.read.readDb, ORDERS_PROJECTION, 1)).toBe(1);
      await ordersReadModel(5).dropTables(sys.read.readDb);
    } finally {
      // The stream can never be projected, so "caught up" would wait for it forever in the tests after this one.
      await sys.write.db('events').where({ stream_id: streamId }).delete();
      await sys.write.db('streams').where({ stream_id: streamId }).delete();
    }
  });
});

describe('projector killed with SIGKILL mid-batch', () => {
  it('after a restart the read model equals a from-scratch rebuild', async () => {
    await sys.stopProjector();
    const menu = await seedMenu(sys.write.ordering);
    const orderIds: string[] = [];
    for (let i = 0; i < 150; i++) {
      await runStep(sys.write.ordering, 'place', orderIds, menu, i);
      await runStep(sys.write.ordering, i % 3 === 0 ? 'cancel' : 'confirm', orderIds, menu, i);
    }
    const env = { ...process.env, DATABASE_URL: sys.url, TOPIC_PREFIX: sys.config.topicPrefix, LOG_LEVEL: 'warn' };
    const start = (): ChildProcess =>
      spawn(process.execPath, ['--import', 'tsx', 'projections/main.ts'], {
        cwd: root,
        env,
        stdio: ['ignore', 'inherit', 'inherit'],
      });
    const key = versionKey(ORDERS_PROJECTION, 1);
    const applied = async () =>
      Number((await sys.read.readDb('projection_streams').where('projection', key).count({ n: '*' }).first())?.n ?? 0);
    const initially = await applied();
    const first = start();
    await waitUntil(async () => (await applied()) > initially, 60_000, 'the projector to apply something');
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    const second = start();
    try {
      await caughtUp();
    } finally {
      second.kill('SIGTERM');
      await new Promise((r) => second.once('exit', r));
    }
    await rebuildPostgresProjection({
      store: sys.write.store,
      readDb: sys.read.readDb,
      codec: sys.write.codec,
      model: ordersReadModel(3),
      topicPrefix: sys.config.topicPrefix,
      activate: false,
    });
    expect(await snapshot(3)).toEqual(await snapshot(1));
    expect((await snapshot(1)).orders.length).toBeGreaterThanOrEqual(150);
    await ordersReadModel(3).dropTables(sys.read.readDb);
    await sys.startProjector();
  }, 180_000);
});
