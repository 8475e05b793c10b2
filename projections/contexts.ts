import type {
  NotificationRules,
  PostgresProjectionEntry,
  ProjectionContext,
  ProjectionEntry,
  RebuildCapability,
} from './context.js';
import { identity } from './identity/index.js';
import { marketplace } from './marketplace/index.js';
import { ordering } from './ordering/index.js';
import { postgresRebuildTarget } from './runtime/rebuild.js';
import { versionKey } from './runtime/tables.js';

/** Every bounded context's projections but identity's, which are made from theirs: add a new context here. */
const contexts: readonly ProjectionContext[] = [ordering, marketplace];

/**
 * What the contexts tell their users, stored by identity's notifications read model, which consumes their topics
 * too (the query side reads this list for the topics read-your-writes waits on). Each kind is one context's.
 */
export const notificationContributions: readonly NotificationRules[] = (() => {
  const all = contexts.flatMap((c) => (c.notifications ? [c.notifications] : []));
  const kinds = all.flatMap((r) => r.kinds);
  const twice = kinds.find((k, i) => kinds.indexOf(k) !== i);
  if (twice) throw new Error(`two contexts make notifications of kind ${twice}`);
  return all;
})();

/** Every bounded context's projections. */
export const projectionContexts: readonly ProjectionContext[] = [identity(notificationContributions), ...contexts];

/** Every projection of the system, checked for unique names (a name is a consumer group and a version row). */
export const allProjections: readonly ProjectionEntry[] = (() => {
  const all = projectionContexts.flatMap((c) => c.projections);
  const names = new Set<string>();
  for (const p of all) {
    if (names.has(p.name)) throw new Error(`two projections are named ${p.name}`);
    names.add(p.name);
  }
  return all;
})();

/** The PostgreSQL read models: `replay --to-projection` applies events into their active version. */
export const postgresProjections: readonly PostgresProjectionEntry[] = allProjections.filter(
  (p): p is PostgresProjectionEntry => p.kind === 'postgres',
);

export function findPostgresProjection(name: string): PostgresProjectionEntry | undefined {
  return postgresProjections.find((p) => p.name === name);
}

/** A projection the CLI rebuilds, drops and lists, whatever its storage. */
export interface RebuildableProjection extends RebuildCapability {
  readonly entry: ProjectionEntry;
  readonly name: string;
  readonly initialVersion: number;
  readonly topics: readonly string[];
}

/** A PostgreSQL read model's rebuild: its tables, and its rows in the runtime tables. */
function postgresRebuild(entry: PostgresProjectionEntry): RebuildableProjection {
  return {
    entry,
    name: entry.name,
    initialVersion: entry.initialVersion,
    topics: entry.topics,
    target: async (version, env) => postgresRebuildTarget(await env.readDb(), await entry.model(version, env)),
    ...(entry.activated ? { activated: entry.activated } : {}),
    ...(entry.readsFrom ? { readsFrom: entry.readsFrom } : {}),
    async appliedStreams(version, env) {
      const row = await (await env.readDb())('projection_streams')
        .where('projection', versionKey(entry.name, version))
        .count({ n: '*' })
        .first();
      return Number(row?.n ?? 0);
    },
  };
}

/**
 * The projections the CLI can rebuild from the event store (`ledger projections rebuild|drop`): every PostgreSQL
 * read model, and every other projection that declares a `rebuild` capability (the Redis order status).
 */
export const rebuildableProjections: readonly RebuildableProjection[] = allProjections.flatMap((entry) => {
  if (entry.kind === 'postgres') return [postgresRebuild(entry)];
  if (!entry.rebuild) return [];
  return [{ ...entry.rebuild, entry, name: entry.name, initialVersion: entry.initialVersion, topics: entry.topics }];
});

export function findProjection(name: string): RebuildableProjection | undefined {
  return rebuildableProjections.find((p) => p.name === name);
}
