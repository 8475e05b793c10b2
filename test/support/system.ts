import type { Knex } from 'knex';
import { startRelay } from '../../commands/relay/main.js';
import { openWriteSide } from '../../commands/write-side.js';
import { withTimeout } from '../../ops/cli/errors.js';
import { startProjector } from '../../projections/main.js';
import { versionKey } from '../../projections/runtime/tables.js';
import { openReadSide } from '../../queries/read-side.js';
import type { Config } from '../../runtime/config.js';
import { createTestDatabase, testConfig } from './env.js';

/** Polls `check` until it returns a value (not undefined/false) or the timeout passes. */
export async function waitUntil<T>(
  check: () => Promise<T | undefined | false>,
  timeoutMs = 15_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export interface TestSystem {
  readonly config: Config;
  readonly url: string;
  readonly write: Awaited<ReturnType<typeof openWriteSide>>;
  readonly read: Awaited<ReturnType<typeof openReadSide>>;
  readonly relay: Awaited<ReturnType<typeof startRelay>>;
  projector: Awaited<ReturnType<typeof startProjector>> | null;
  startProjector(): Promise<void>;
  stopProjector(): Promise<void>;
  close(): Promise<void>;
}

/** Write side, relay, projector and read side in this process, on a fresh database and topic prefix. */
export async function startTestSystem(label: string, options: { projector?: boolean } = {}): Promise<TestSystem> {
  const database = await createTestDatabase(label);
  const config = testConfig(database.url);
  const write = await openWriteSide(config);
  const relay = await startRelay(config);
  const read = await openReadSide(config);
  const system: TestSystem = {
    config,
    url: database.url,
    write,
    read,
    relay,
    projector: null,
    async startProjector() {
      system.projector ??= await startProjector(config);
      // The first read-your-writes wait of a test (5 s in the gateway) must not also pay for the group joins.
      const joins = [...system.projector.runners.values()].map(({ runner }) => runner.joined());
      await withTimeout(Promise.all(joins), 60_000, 'the projector joining its consumer groups');
    },
    async stopProjector() {
      await system.projector?.stop();
      system.projector = null;
    },
    async close() {
      await system.stopProjector();
      await relay.stop();
      await read.close();
      await write.close();
      await database.drop();
    },
  };
  if (options.projector ?? true) await system.startProjector();
  return system;
}

/**
 * Waits until every stream of `streamType` in the store has been applied by a projection version up to its current
 * version: all partitions, not just the one `?after` would check.
 */
export const projectionCaughtUpWith = (
  db: Knex,
  projection: string,
  version: number,
  streamType: string,
  timeoutMs = 60_000,
) =>
  waitUntil(
    async () => {
      const row = await db.raw(
        `SELECT count(*)::int AS behind FROM streams s
         LEFT JOIN projection_streams p ON p.projection = ? AND p.stream_id = s.stream_id
         WHERE s.stream_type = ? AND coalesce(p.version, 0) < s.version`,
        [versionKey(projection, version), streamType],
      );
      return (row.rows[0] as { behind: number }).behind === 0;
    },
    timeoutMs,
    `${projection} v${version} to catch up`,
  );
