import type { Client } from '@elastic/elasticsearch';
import { menuSearchAlias, menuSearchIndex } from './mapping.js';

// The read alias queries search through (queries/read-side.ts): which index version it points at, and moving it.

/** Points the read alias at `version` if it points nowhere yet: the very first start-up. */
export async function ensureMenuSearchAlias(search: Client, prefix: string, version: number): Promise<void> {
  const alias = menuSearchAlias(prefix);
  const index = menuSearchIndex(prefix, version);
  if (!(await search.indices.existsAlias({ name: alias }))) {
    await search.indices.updateAliases({ actions: [{ add: { index, alias } }] });
  }
}

/**
 * Points the read alias at `version` in one atomic `updateAliases` call (remove from every version, add to
 * this one): readers see the old index or the new one, never none or both. Used at the end of a rebuild.
 */
export async function switchMenuSearchAlias(search: Client, prefix: string, version: number): Promise<void> {
  const alias = menuSearchAlias(prefix);
  const index = menuSearchIndex(prefix, version);
  const response = await search.indices.updateAliases({
    actions: [
      // must_exist false: on the very first switch there is no alias to remove.
      { remove: { index: `${alias}-v*`, alias, must_exist: false } },
      { add: { index, alias } },
    ],
  });
  // ES 9 reports per-action failures in `errors`/`action_results`, which the client's types do not declare yet.
  if ((response as { errors?: boolean }).errors)
    throw new Error(`switching ${alias} to ${index} failed: ${JSON.stringify(response)}`);
}

/** The indexes the read alias points at (one, except by hand). */
export async function menuSearchAliasTargets(search: Client, prefix: string): Promise<string[]> {
  const alias = menuSearchAlias(prefix);
  const found = await search.indices.getAlias({ name: alias }, { ignore: [404] });
  return Object.entries(found)
    .filter(([, v]) => typeof v === 'object' && v !== null && 'aliases' in v)
    .map(([name]) => name);
}
