import type { Client } from '@elastic/elasticsearch';
import type { Knex } from 'knex';
import { asContract, type ProjectedEvent } from '../../../runtime/consumer/types.js';
import type { ProfileEvent } from '../../../schemas/marketplace/events.js';
import type { PostgresReadModel } from '../../runtime/postgres.js';
import {
  evolveJobDoc,
  type JobDoc,
  type RatingTotals,
  ratingChange,
  ratingFields,
  type SearchEvent,
  type WorkerDoc,
  workerDocOf,
} from './documents.js';
import { deleteIndexes, ensureIndexes, type SearchWrite, writeDocuments } from './indexes.js';

// Marketplace search (jobs and workers in Elasticsearch), staged in PostgreSQL as the menu search is: each
// document and its version in a staging row, so a batch computes whole documents (this Elasticsearch build has no
// scripted updates) and writes them with external versions inside the runtime's transaction. Elasticsearch
// failing rolls the batch back (retried); PostgreSQL failing after it leaves documents the redelivery rewrites
// with the same versions. A worker's document carries their reputation, so hirers' reviews (on the contract
// topic) are staged too: rebuilding needs nothing but the event store.

export const SEARCH_PROJECTION = 'marketplace.search';
export const SEARCH_VERSION = 1;

export const searchTables = (version: number) => ({
  jobs: `search_mkt_jobs_v${version}`,
  workers: `search_mkt_workers_v${version}`,
  reviews: `search_mkt_reviews_v${version}`,
});
type SearchTables = ReturnType<typeof searchTables>;

export function searchReadModel(search: Client, version: number, prefix: string): PostgresReadModel {
  const t = searchTables(version);
  return {
    name: SEARCH_PROJECTION,
    version,
    topics: ['marketplace.job', 'marketplace.profile', 'marketplace.contract'],
    async createTables(db) {
      await db.transaction(async (trx) => {
        // Serialises start-ups sharing this database: tables, indexes and the first aliases are made once.
        await trx.raw('SELECT pg_advisory_xact_lock(hashtext(?))', [`${t.jobs}:${prefix}`]);
        await trx.raw(`
          CREATE TABLE IF NOT EXISTS ${t.jobs} (job_id text PRIMARY KEY, doc jsonb NOT NULL, doc_version bigint NOT NULL);
          CREATE TABLE IF NOT EXISTS ${t.workers} (
            worker_id text PRIMARY KEY,
            doc jsonb,
            rating_sum integer NOT NULL DEFAULT 0,
            count integer NOT NULL DEFAULT 0,
            doc_version bigint NOT NULL DEFAULT 0
          );
          CREATE TABLE IF NOT EXISTS ${t.reviews} (
            contract_id text PRIMARY KEY,
            worker_id text NOT NULL,
            rating smallint NOT NULL,
            hidden boolean NOT NULL DEFAULT false
          );
        `);
        await ensureIndexes(search, prefix, version);
      });
    },
    async dropTables(db) {
      await db.raw(`DROP TABLE IF EXISTS ${t.jobs}, ${t.workers}, ${t.reviews}`);
      await deleteIndexes(search, prefix, version);
    },
    async apply(trx, events) {
      const typed = asContract<SearchEvent>(events);
      const writes = [...(await stageJobs(trx, t, typed)), ...(await stageWorkers(trx, t, typed))];
      await writeDocuments(search, prefix, version, writes);
    },
  };
}

async function stageJobs(trx: Knex.Transaction, t: SearchTables, events: readonly ProjectedEvent<SearchEvent>[]) {
  const jobEvents = events.filter((e) => e.eventType.startsWith('Job'));
  if (jobEvents.length === 0) return [];
  const ids = [...new Set(jobEvents.map((e) => (e.data as { jobId: string }).jobId))].sort();
  const { rows } = (await trx.raw(
    `SELECT job_id, doc, doc_version FROM ${t.jobs} WHERE job_id = ANY(?::text[]) ORDER BY job_id FOR UPDATE`,
    [ids],
  )) as { rows: { job_id: string; doc: JobDoc; doc_version: string | number }[] };
  const staged = new Map(rows.map((r) => [r.job_id, { doc: r.doc, version: Number(r.doc_version) }]));
  const docs = new Map<string, JobDoc | null>(rows.map((r) => [r.job_id, r.doc]));
  for (const event of jobEvents) {
    const id = (event.data as { jobId: string }).jobId;
    docs.set(id, evolveJobDoc(docs.get(id) ?? null, event));
  }
  const writes: SearchWrite[] = [];
  for (const [id, doc] of docs) {
    if (!doc) continue;
    writes.push({ kind: 'jobs', id, doc, version: (staged.get(id)?.version ?? 0) + 1 });
  }
  if (writes.length > 0) {
    await trx.raw(
      `INSERT INTO ${t.jobs} (job_id, doc, doc_version) SELECT * FROM unnest(?::text[], ?::jsonb[], ?::bigint[])
       ON CONFLICT (job_id) DO UPDATE SET doc = EXCLUDED.doc, doc_version = EXCLUDED.doc_version`,
      [writes.map((w) => w.id), writes.map((w) => JSON.stringify(w.doc)), writes.map((w) => w.version)],
    );
  }
  return writes;
}

async function stageWorkers(trx: Knex.Transaction, t: SearchTables, events: readonly ProjectedEvent<SearchEvent>[]) {
  const profiles = events.filter(
    (e): e is ProjectedEvent<ProfileEvent> => e.eventType === 'WorkerProfileUpdated',
  ) as ProjectedEvent<ProfileEvent>[];
  const ratings = events.flatMap((e) => {
    const change = ratingChange(e);
    return change ? [{ event: e, change }] : [];
  });
  if (profiles.length === 0 && ratings.length === 0) return [];
  const ids = [
    ...new Set([
      ...profiles.map((e) => (e.data as { workerId: string }).workerId),
      ...ratings.map((r) => r.change.workerId),
    ]),
  ].sort();
  await trx.raw(`INSERT INTO ${t.workers} (worker_id) SELECT unnest(?::text[]) ON CONFLICT DO NOTHING`, [ids]);
  const { rows } = (await trx.raw(
    `SELECT worker_id, doc, rating_sum, count, doc_version FROM ${t.workers}
     WHERE worker_id = ANY(?::text[]) ORDER BY worker_id FOR UPDATE`,
    [ids],
  )) as {
    rows: { worker_id: string; doc: WorkerDoc | null; rating_sum: number; count: number; doc_version: string }[];
  };
  const state = new Map(
    rows.map((r) => [
      r.worker_id,
      {
        doc: r.doc,
        totals: { ratingSum: r.rating_sum, count: r.count } as RatingTotals,
        version: Number(r.doc_version),
      },
    ]),
  );
  const touched = new Set<string>();
  for (const event of events) {
    if (event.eventType === 'WorkerProfileUpdated') {
      const s = state.get(event.data.workerId)!;
      s.doc = workerDocOf(event as ProjectedEvent<ProfileEvent>, s.totals);
      touched.add(event.data.workerId);
      continue;
    }
    const change = ratingChange(event);
    if (!change) continue;
    const delta = await stageReview(trx, t, change);
    if (delta === 0) continue;
    const s = state.get(change.workerId)!;
    s.totals = { ratingSum: s.totals.ratingSum + delta, count: s.totals.count + Math.sign(delta) };
    if (s.doc) s.doc = { ...s.doc, ...ratingFields(s.totals) };
    touched.add(change.workerId);
  }
  const writes: SearchWrite[] = [];
  const rowsOut = [...touched].map((id) => {
    const s = state.get(id)!;
    const version = s.doc ? s.version + 1 : s.version;
    if (s.doc) writes.push({ kind: 'workers', id, doc: s.doc, version });
    return { id, doc: s.doc, ...s.totals, version };
  });
  await trx.raw(
    `INSERT INTO ${t.workers} (worker_id, doc, rating_sum, count, doc_version)
     SELECT * FROM unnest(?::text[], ?::jsonb[], ?::integer[], ?::integer[], ?::bigint[])
     ON CONFLICT (worker_id) DO UPDATE SET doc = EXCLUDED.doc, rating_sum = EXCLUDED.rating_sum,
       count = EXCLUDED.count, doc_version = EXCLUDED.doc_version`,
    [
      rowsOut.map((r) => r.id),
      // null stays NULL in the array: a worker reviewed before they have a profile has no document yet.
      rowsOut.map((r) => (r.doc ? JSON.stringify(r.doc) : null)) as string[],
      rowsOut.map((r) => r.ratingSum),
      rowsOut.map((r) => r.count),
      rowsOut.map((r) => r.version),
    ],
  );
  return writes;
}

/** Records a hirer's review of a worker (or hides it); the rating to add (negative to remove), 0 for a repeat. */
async function stageReview(
  trx: Knex.Transaction,
  t: SearchTables,
  change: NonNullable<ReturnType<typeof ratingChange>>,
): Promise<number> {
  if (change.hide) {
    const hidden: { rating: number }[] = await trx(t.reviews)
      .where({ contract_id: change.contractId, hidden: false })
      .update({ hidden: true })
      .returning('rating');
    return hidden[0] ? -hidden[0].rating : 0;
  }
  if (change.rating === undefined) return 0;
  const inserted = await trx(t.reviews)
    .insert({ contract_id: change.contractId, worker_id: change.workerId, rating: change.rating })
    .onConflict('contract_id')
    .ignore()
    .returning('rating');
  return inserted.length > 0 ? change.rating : 0;
}
