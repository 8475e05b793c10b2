import { randomUUID } from 'node:crypto';
import { Client as SearchClient } from '@elastic/elasticsearch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PostJobInput, WorkerProfileInput } from '../../../commands/marketplace/handlers.js';
import { searchIndex } from '../../../projections/marketplace/search/mapping.js';
import { SEARCH_PROJECTION } from '../../../projections/marketplace/search/read-model.js';
import { WORK_PROJECTION, workTables } from '../../../projections/marketplace/work.js';
import { ledgerCli } from '../../support/cli.js';
import { applyBody, jobBody, workerProfileBody } from '../../support/marketplace/fixtures.js';
import { startTestSystem, type TestSystem, waitUntil } from '../../support/system.js';

// `ledger projections rebuild` rebuilds the marketplace read models from the event store: the work tables and the
// search indexes (beside the live ones, then the read aliases switch), equal to what the live projector built.

let sys: TestSystem;
let search: SearchClient;
const internal = (actor: string, role: 'hirer' | 'worker') => ({ actor, role, correlationId: randomUUID() });
const { ledgerJson } = ledgerCli(
  () => ({
    DATABASE_URL: sys.url,
    READ_DATABASE_URL: sys.url,
    TOPIC_PREFIX: sys.config.topicPrefix,
    LOG_LEVEL: 'silent',
  }),
  { inProcess: true },
);

beforeAll(async () => {
  sys = await startTestSystem('mktrebuild');
  await sys.startProjector();
  search = new SearchClient({ node: sys.config.searchUrl });
  const m = sys.write.marketplace;
  for (const w of ['w-1', 'w-2']) {
    await m.setWorkerProfile(
      { ...(workerProfileBody() as unknown as WorkerProfileInput), portfolio: [], experience: [] },
      internal(w, 'worker'),
    );
  }
  for (let i = 0; i < 3; i++) {
    const jobId = `job-${i}`;
    await m.postJob({ ...(jobBody() as unknown as PostJobInput), jobId }, internal('h-1', 'hirer'));
    await m.apply({ ...applyBody(jobId), coverLetter: 'x' }, internal('w-1', 'worker'));
  }
  await m.closeJob({ jobId: 'job-2' }, internal('h-1', 'hirer'));
  await waitUntil(
    async () =>
      (await sys.read.marketplace.search.jobs({})).total === 2 &&
      (await sys.read.marketplace.search.workers({})).total === 2,
    30_000,
    'the live search read model',
  );
}, 120_000);
afterAll(async () => {
  await search?.close();
  await sys?.close();
});

describe('rebuilding the marketplace read models', () => {
  it('rebuilds the work tables equal to the live ones', async () => {
    await waitUntil(
      async () => Number((await sys.read.readDb(workTables(1).applications).count({ n: '*' }).first())?.n) === 3,
      30_000,
      'the live work read model',
    );
    const result = await ledgerJson<Record<string, unknown>>(['projections', 'rebuild', WORK_PROJECTION, '--keep-old']);
    expect(result).toMatchObject({ version: 2, activated: true, isolated: { count: 0 } });
    for (const table of ['jobs', 'applications'] as const) {
      const rows = async (version: number) =>
        (
          await sys.read
            .readDb(workTables(version)[table])
            .select()
            .orderBy(table === 'jobs' ? 'job_id' : 'application_id')
        ).map(({ version: _, ...row }) => row);
      expect(await rows(2)).toEqual(await rows(1));
    }
  });

  it('rebuilds the search indexes beside the live ones and points the aliases at them', async () => {
    const result = await ledgerJson<Record<string, unknown>>([
      'projections',
      'rebuild',
      SEARCH_PROJECTION,
      '--keep-old',
    ]);
    expect(result).toMatchObject({ version: 2, activated: true, isolated: { count: 0 } });
    const prefix = sys.config.topicPrefix;
    for (const kind of ['jobs', 'workers'] as const) {
      const indexes = [searchIndex(prefix, kind, 1), searchIndex(prefix, kind, 2)];
      await search.indices.refresh({ index: indexes });
      const [live, rebuilt] = await Promise.all(indexes.map(async (index) => (await search.count({ index })).count));
      expect(rebuilt).toBe(live);
      expect(rebuilt).toBeGreaterThan(0);
      const aliased = await search.indices.getAlias({ name: `${prefix.toLowerCase()}marketplace-${kind}` });
      expect(Object.keys(aliased)).toEqual([indexes[1]]);
    }
    // Reads go through the aliases: the same answers from the rebuilt version.
    expect((await sys.read.marketplace.search.jobs({})).total).toBe(2);
    expect((await sys.read.marketplace.search.workers({ skills: ['tiling'] })).total).toBe(2);
  });
});
