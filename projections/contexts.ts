import type { PostgresProjectionEntry, ProjectionContext, ProjectionEntry } from './context.js';
import { identity } from './identity/index.js';
import { ordering } from './ordering/index.js';

/** Every bounded context's projections: add one line for a new context. */
export const projectionContexts: readonly ProjectionContext[] = [identity, ordering];

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

/** The projections the CLI can rebuild and replay into: the PostgreSQL read models. */
export const rebuildableProjections: readonly PostgresProjectionEntry[] = allProjections.filter(
  (p): p is PostgresProjectionEntry => p.kind === 'postgres',
);

export function findProjection(name: string): PostgresProjectionEntry | undefined {
  return rebuildableProjections.find((p) => p.name === name);
}
