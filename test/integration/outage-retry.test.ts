import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway } from '../../gateway/main.js';
import { createTestDatabase, testConfig, uniqueSuffix } from '../support/env.js';
import { baseUrlOf, bearer } from '../support/gateway.js';
import { address, placeOrderBody } from '../support/ordering.js';
import { type CuttableProxy, cuttableProxy, viaProxy } from '../support/tcp-proxy.js';

// Issue 13: backend termination under load. Commands are in flight, each with its own Idempotency-Key, when the
// gateway's connections to PostgreSQL are cut: every answer is a success or 503 DEPENDENCY_UNAVAILABLE (never a
// 500), every command that failed succeeds when retried with its key and body, a command that succeeded answers
// the same on a retry, and each command's events are in the store exactly once.

const N = 10;

let database: Awaited<ReturnType<typeof createTestDatabase>>;
let proxy: CuttableProxy;
let gateway: Awaited<ReturnType<typeof startGateway>>;
let admin: pg.Client;
let menu: { restaurantId: string; menuItemIds: string[] };

interface Command {
  readonly path: string;
  readonly body: Record<string, unknown>;
  readonly headers: Record<string, string>;
  readonly streamId: string;
}

interface Answer {
  readonly status: number;
  readonly body: unknown;
}

async function send(command: Pick<Command, 'path' | 'body' | 'headers'>): Promise<Answer> {
  const response = await fetch(`${baseUrlOf(gateway.app)}/commands/ordering/${command.path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...bearer(gateway.tokens, command.headers) },
    body: JSON.stringify(command.body),
  });
  return { status: response.status, body: await response.json() };
}

const isSuccess = (a: Answer) => a.status === 200 || a.status === 201;
const isOutage = (a: Answer) =>
  a.status === 503 && (a.body as { error?: { code?: string } }).error?.code === 'DEPENDENCY_UNAVAILABLE';

/** N commands, alternately register-restaurant and place-order, each by its own account with its own key. */
function commands(label: string, count = N): Command[] {
  const run = `${label}-${uniqueSuffix()}`;
  return Array.from({ length: count }, (_, i) => {
    const key = `${run}-key-${i}`;
    if (i % 2 === 0) {
      const restaurantId = `${run}-r${i}`;
      return {
        path: 'register-restaurant',
        body: { restaurantId, name: `Outage ${i}`, cuisine: 'any', address },
        headers: { 'x-actor-id': `${run}-owner-${i}`, 'x-role': 'restaurant', 'idempotency-key': key },
        streamId: `restaurant-${restaurantId}`,
      };
    }
    const orderId = `${run}-o${i}`;
    return {
      path: 'place-order',
      body: { ...placeOrderBody(menu), orderId },
      headers: { 'x-actor-id': `${run}-customer-${i}`, 'x-role': 'customer', 'idempotency-key': key },
      streamId: `order-${orderId}`,
    };
  });
}

/** A client's retry policy: the same key and body again while the answer is 503 (a few times, briefly apart). */
async function retryUntilAnswered(command: Command, attempts = 5): Promise<Answer> {
  let answer = await send(command);
  for (let i = 1; i < attempts && isOutage(answer); i++) {
    await new Promise((resolve) => setTimeout(resolve, 200 * i));
    answer = await send(command);
  }
  return answer;
}

/** Events per stream, and per stream and type, straight from the event store (not through the proxy). */
async function eventsByStream(streamIds: readonly string[]) {
  const { rows } = await admin.query<{ stream_id: string; event_type: string; n: number; position: string }>(
    `SELECT stream_id, event_type, count(*)::int AS n, max(global_position)::text AS position
       FROM events WHERE stream_id = ANY($1) GROUP BY stream_id, event_type`,
    [streamIds],
  );
  return rows;
}

/** Holds the outbox table so every append waits inside its transaction, after it has claimed its version. */
async function holdOutbox(): Promise<{ waiting: () => Promise<number>; release: () => Promise<void> }> {
  const holder = new pg.Client({ connectionString: database.url });
  await holder.connect();
  await holder.query('BEGIN');
  await holder.query('LOCK TABLE outbox IN ACCESS EXCLUSIVE MODE');
  const { rows: me } = await holder.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  return {
    // Asked outside the holder's transaction: pg_stat_activity is a snapshot taken once per transaction.
    waiting: async () => {
      const { rows } = await admin.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> $1`,
        [me[0]!.pid],
      );
      return rows[0]!.n;
    },
    release: async () => {
      try {
        await holder.query('ROLLBACK');
      } finally {
        await holder.end();
      }
    },
  };
}

/**
 * How many commands wait on the outbox inside their transactions, once that number has held for a second (or at
 * 15 s). Fewer than N means some never got that far (a pool slot lost, say).
 */
async function settledWaiting(outbox: { waiting: () => Promise<number> }): Promise<number> {
  const deadline = Date.now() + 15_000;
  let last = -1;
  let since = Date.now();
  for (;;) {
    const now = await outbox.waiting();
    if (now !== last) {
      last = now;
      since = Date.now();
    }
    if (now >= N || (now > 0 && Date.now() - since >= 1000) || Date.now() > deadline) {
      return now;
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

beforeAll(async () => {
  database = await createTestDatabase('outageretry');
  proxy = await cuttableProxy(new URL(database.url));
  // The write side (commands) goes through the proxy; the read side and this test's own client connect directly.
  gateway = await startGateway({ ...testConfig(database.url), databaseUrl: viaProxy(database.url, proxy) });
  admin = new pg.Client({ connectionString: database.url });
  await admin.connect();
  // A menu to order from, made through the gateway before anything fails.
  const owner = { 'x-actor-id': `owner-${uniqueSuffix()}`, 'x-role': 'restaurant' };
  const restaurantId = `menu-${uniqueSuffix()}`;
  const menuItemId = `dish-${uniqueSuffix()}`;
  const made = [
    await send({
      path: 'register-restaurant',
      body: { restaurantId, name: 'Forno', cuisine: 'italian', address },
      headers: owner,
    }),
    await send({ path: 'open-restaurant', body: { restaurantId }, headers: owner }),
    await send({
      path: 'add-menu-item',
      body: { restaurantId, menuItemId, name: 'Pizza', description: 'hot', priceMinor: 900, currency: 'EUR' },
      headers: owner,
    }),
  ];
  expect(made.map((a) => a.status)).toEqual([201, 200, 201]);
  menu = { restaurantId, menuItemIds: [menuItemId] };
});

afterAll(async () => {
  await gateway?.stop();
  await proxy?.close();
  await admin?.end();
  await database?.drop();
});

describe('backend termination under load', () => {
  it('every command answers success or 503, a 503 succeeds when retried with its key, and nothing is doubled', async () => {
    const inFlight = commands('cut');
    const arriving = commands('late', 4);
    const outbox = await holdOutbox();
    let answers: Answer[];
    let inTransaction = 0;
    try {
      const pending = inFlight.map(send);
      inTransaction = await settledWaiting(outbox);
      // PostgreSQL goes away: every connection is reset, and new ones are refused for a while.
      proxy.refuse(true);
      proxy.cut();
      // More load arrives during the outage.
      const late = arriving.map(send);
      answers = await Promise.all([...pending, ...late]);
    } finally {
      await outbox.release();
    }
    const all = [...inFlight, ...arriving];
    const unexpected = answers.flatMap((a, i) => (isSuccess(a) || isOutage(a) ? [] : [{ command: all[i], answer: a }]));
    expect(unexpected).toEqual([]);
    // The commands cut inside their transactions cannot have succeeded.
    expect(inTransaction).toBe(N);
    expect(answers.slice(0, N).filter((a) => !isOutage(a))).toEqual([]);

    proxy.refuse(false);
    const retried: Answer[] = [];
    for (const [i, command] of all.entries())
      retried.push(isOutage(answers[i]!) ? await retryUntilAnswered(command) : answers[i]!);
    for (const [i, answer] of retried.entries()) {
      expect({ command: all[i]!.path, answer }).toMatchObject({
        answer: { status: 201, body: { streamId: all[i]!.streamId, version: 1 } },
      });
    }
    // A retry of a command that succeeded (the first time or on a retry) answers exactly the same.
    for (const [i, command] of all.entries()) expect(await send(command)).toEqual(retried[i]);

    const events = await eventsByStream(all.map((c) => c.streamId));
    expect(new Set(events.map((e) => e.stream_id))).toEqual(new Set(all.map((c) => c.streamId)));
    for (const e of events) expect({ stream: e.stream_id, type: e.event_type, n: e.n }).toMatchObject({ n: 1 });
    for (const [i, answer] of retried.entries()) {
      const position = events.find((e) => e.stream_id === all[i]!.streamId)!.position;
      expect((answer.body as { position: number }).position).toBe(Number(position));
    }
  });

  it('a command whose commit is not acknowledged answers 503, and its retry answers the committed result once', async () => {
    const inFlight = commands('ack');
    const outbox = await holdOutbox();
    let answers: Answer[];
    const lostBefore = proxy.lostAcknowledgements;
    try {
      const pending = inFlight.map(send);
      expect(await settledWaiting(outbox)).toBe(N);
      // Each transaction commits, and the connection drops before the client hears so.
      proxy.loseCommitAcknowledgements(true);
      await outbox.release();
      answers = await Promise.all(pending);
    } finally {
      proxy.loseCommitAcknowledgements(false);
    }
    expect(answers.filter((a) => !isOutage(a))).toEqual([]);

    // The events of every commit whose answer was lost are there already, exactly once: the outage hid a success,
    // it did not undo it. (A command that never reached its commit appended nothing.)
    const streamIds = inFlight.map((c) => c.streamId);
    const committedBeforeRetry = await eventsByStream(streamIds);
    expect(proxy.lostAcknowledgements - lostBefore).toBe(N);
    expect(committedBeforeRetry.length).toBe(N);
    expect(committedBeforeRetry.every((e) => e.n === 1)).toBe(true);

    // Retried with the same key and body: the committed result, nothing appended again.
    const retried: Answer[] = [];
    for (const command of inFlight) retried.push(await retryUntilAnswered(command));
    const committed = await eventsByStream(streamIds);
    expect(committed.map((e) => e.stream_id).sort()).toEqual([...streamIds].sort());
    expect(committed).toEqual(expect.arrayContaining(committedBeforeRetry));
    for (const [i, answer] of retried.entries()) {
      const stored = committed.find((e) => e.stream_id === inFlight[i]!.streamId)!;
      expect(answer).toEqual({
        status: 201,
        body: { streamId: inFlight[i]!.streamId, version: 1, position: Number(stored.position) },
      });
    }
    for (const [i, command] of inFlight.entries()) expect(await send(command)).toEqual(retried[i]);
    expect(await eventsByStream(streamIds)).toEqual(expect.arrayContaining(committed));
    expect((await eventsByStream(streamIds)).length).toBe(committed.length);
  });
});
