import { type Client, errors } from '@elastic/elasticsearch';
import type { DocWrite } from './changes.js';
import { MENU_ITEMS_INDEX_SETTINGS, MENU_ITEMS_MAPPINGS } from './mapping.js';

// Writing to one version's Elasticsearch index: creating it, and bulk writes with external versions.

const BULK_CHUNK = 500;

/** A bulk write Elasticsearch refused for a reason other than "a newer version is already there". */
export class SearchIndexingError extends Error {
  readonly code = 'SEARCH_INDEXING_FAILED';
  constructor(
    message: string,
    readonly failures: readonly { id: string; status: number; reason: string }[],
  ) {
    super(message);
    this.name = 'SearchIndexingError';
  }
}

/** Creates the index with the menu-items settings and mappings unless it exists. */
export async function ensureIndex(search: Client, index: string): Promise<void> {
  if (await search.indices.exists({ index })) return;
  try {
    await search.indices.create({ index, settings: MENU_ITEMS_INDEX_SETTINGS, mappings: MENU_ITEMS_MAPPINGS });
  } catch (error) {
    // Another process (on another read database) created it between the check and the create.
    const type =
      error instanceof errors.ResponseError ? (error.body as { error?: { type?: string } }).error?.type : null;
    if (type !== 'resource_already_exists_exception') throw error;
  }
}

/**
 * Writes documents with their external versions. A 409 means Elasticsearch already holds this version or a
 * newer one (a redelivery after PostgreSQL failed, or a retried request): the write is already done. Any
 * other refusal throws, which rolls the runtime's transaction back so the batch is retried.
 */
export async function bulkWrite(search: Client, index: string, writes: readonly DocWrite[]): Promise<void> {
  for (let start = 0; start < writes.length; start += BULK_CHUNK) {
    const chunk = writes.slice(start, start + BULK_CHUNK);
    const response = await search.bulk({
      operations: chunk.flatMap((w) => [
        { index: { _index: index, _id: w.doc.menuItemId, version: w.version, version_type: 'external' as const } },
        w.doc,
      ]),
    });
    if (!response.errors) continue;
    const failures: { id: string; status: number; reason: string }[] = [];
    for (const entry of response.items) {
      for (const item of Object.values(entry)) {
        if (!item?.error || item.status === 409) continue;
        failures.push({
          id: String(item._id),
          status: item.status,
          reason: `${item.error.type}: ${item.error.reason ?? ''}`,
        });
      }
    }
    if (failures.length > 0) {
      throw new SearchIndexingError(
        `${failures.length} of ${chunk.length} documents were refused by ${index}: ${failures
          .slice(0, 3)
          .map((f) => `${f.id} (${f.status} ${f.reason})`)
          .join('; ')}`,
        failures,
      );
    }
  }
}
