import { type Client, errors } from '@elastic/elasticsearch';
import { INDEX_SETTINGS, MAPPINGS, type SearchKind, searchAlias, searchIndex } from './mapping.js';

// The marketplace search indexes in Elasticsearch: creating a version's indexes, pointing the read aliases at a
// version (atomically, at the end of a rebuild), and writing documents with external versions.

const KINDS: readonly SearchKind[] = ['jobs', 'workers'];
const BULK_CHUNK = 500;

/** A document to index under `id` with its external version (one more than the staged one). */
export interface SearchWrite {
  readonly kind: SearchKind;
  readonly id: string;
  readonly doc: object;
  readonly version: number;
}

const errorType = (error: unknown): string | undefined =>
  error instanceof errors.ResponseError ? (error.body as { error?: { type?: string } }).error?.type : undefined;

/** Creates this version's indexes unless they exist, and points each alias at them if it points nowhere yet. */
export async function ensureIndexes(search: Client, prefix: string, version: number): Promise<void> {
  for (const kind of KINDS) {
    const index = searchIndex(prefix, kind, version);
    if (!(await search.indices.exists({ index }))) {
      try {
        await search.indices.create({ index, settings: INDEX_SETTINGS, mappings: MAPPINGS[kind] as never });
      } catch (error) {
        if (errorType(error) !== 'resource_already_exists_exception') throw error;
      }
    }
    const alias = searchAlias(prefix, kind);
    if (!(await search.indices.existsAlias({ name: alias }))) {
      await search.indices.updateAliases({ actions: [{ add: { index, alias } }] });
    }
  }
}

export async function deleteIndexes(search: Client, prefix: string, version: number): Promise<void> {
  for (const kind of KINDS)
    await search.indices.delete({ index: searchIndex(prefix, kind, version) }, { ignore: [404] });
}

/** Points both read aliases at `version`, each in one atomic call: readers see the old index or the new one. */
export async function switchAliases(search: Client, prefix: string, version: number): Promise<void> {
  for (const kind of KINDS) {
    const alias = searchAlias(prefix, kind);
    const response = await search.indices.updateAliases({
      actions: [
        { remove: { index: `${alias}-v*`, alias, must_exist: false } },
        { add: { index: searchIndex(prefix, kind, version), alias } },
      ],
    });
    if ((response as { errors?: boolean }).errors) {
      throw new Error(`switching ${alias} to version ${version} failed: ${JSON.stringify(response)}`);
    }
  }
}

/** The indexes of `version` an alias still points at, named; empty when none. */
export async function aliasedIndexes(search: Client, prefix: string, version: number): Promise<string[]> {
  const aliased: string[] = [];
  for (const kind of KINDS) {
    const found = await search.indices.getAlias({ name: searchAlias(prefix, kind) }, { ignore: [404] });
    const index = searchIndex(prefix, kind, version);
    if (Object.hasOwn(found, index)) aliased.push(index);
  }
  return aliased;
}

/**
 * Writes documents with their external versions. A 409 means the index already holds this version or a newer
 * one (a redelivery after PostgreSQL failed): done already. Any other refusal throws, which rolls the runtime's
 * transaction back so the batch is retried.
 */
export async function writeDocuments(
  search: Client,
  prefix: string,
  version: number,
  writes: readonly SearchWrite[],
): Promise<void> {
  for (let start = 0; start < writes.length; start += BULK_CHUNK) {
    const chunk = writes.slice(start, start + BULK_CHUNK);
    const response = await search.bulk({
      operations: chunk.flatMap((w) => [
        {
          index: {
            _index: searchIndex(prefix, w.kind, version),
            _id: w.id,
            version: w.version,
            version_type: 'external' as const,
          },
        },
        w.doc,
      ]),
    });
    if (!response.errors) continue;
    const failures = response.items
      .flatMap((entry) => Object.values(entry))
      .filter((item) => item?.error && item.status !== 409)
      .map((item) => `${item!._id} (${item!.status} ${item!.error!.type}: ${item!.error!.reason ?? ''})`);
    if (failures.length > 0) {
      throw new Error(`${failures.length} marketplace search documents refused: ${failures.slice(0, 3).join('; ')}`);
    }
  }
}
