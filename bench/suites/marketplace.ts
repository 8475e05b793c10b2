import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { Client as SearchClient } from '@elastic/elasticsearch';
import { startRelay } from '../../commands/relay/main.js';
import { startGateway } from '../../gateway/main.js';
import { startProjector } from '../../projections/main.js';
import { searchIndex } from '../../projections/marketplace/search/mapping.js';
import { SEARCH_VERSION } from '../../projections/marketplace/search/read-model.js';
import { type ClosedLoopSummary, closedLoop, failedRequests, withEmptyRoute } from '../lib/closed-loop.js';
import { createBenchDatabase, uniqueSuffix } from '../lib/db.js';
import { progress, sleep, within } from '../lib/progress.js';
import { benchConfig, deleteRedisKeys, deleteSubjects } from '../lib/stack.js';
import { summarize } from '../lib/stats.js';
import type { Suite, SuiteContext, SuiteResult } from '../lib/suite.js';
import { below, informational, row } from '../lib/table.js';

// The marketplace (issue 15): its command path through the real gateway, how soon a posted job can be found, and
// worker search over 10,000 profiles.
//
// - post-job through the gateway (HTTP, auth, rate limiter, JSON schema, decider, one append), closed loop, against
//   an empty Fastify route in the same run (what HTTP alone costs on this machine). apply is measured through its
//   handler (load the job, decide, append) at concurrency 8: one application per worker per job makes a single
//   load generator's repeated body a 409 after its first request.
// - job posted → findable: the handler appends a job with a unique word in its title; the time until a search
//   for that word through the query side finds it (relay → Kafka → projector → PostgreSQL staging →
//   Elasticsearch, refreshed every second). Target p99 < 2 s.
// - worker search: 10,000 worker profiles through the real pipeline, then searches with text, skills, a rate
//   range, a minimum rating and a point with a radius; p99 of the query side's call, against a match_all on the
//   same index as the baseline.

const SUITE = 'marketplace';
const CONNECTIONS = 16;
const START_TIMEOUT_MS = 60_000;
const FINDABLE_TARGET_MS = 2000;
const SKILLS = ['tiling', 'plumbing', 'electrical', 'carpentry', 'painting', 'roofing', 'gardening', 'masonry'];

interface Timing {
  readonly warmupSeconds: number;
  readonly measureSeconds: number;
}

const inDays = (days: number): string => new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);
const jobBody = (title: string) => ({
  title,
  description: 'Benchmark job: tiles and plumbing for a small kitchen',
  skills: ['tiling', 'plumbing'],
  budget: { kind: 'FIXED' as const, minMinor: 100_000, maxMinor: 300_000, currency: 'EUR' },
  deadline: inDays(30),
  remote: false,
  location: { city: 'Lisbon', country: 'PT', lat: 38.72, lon: -9.14 },
});
const ctx = (actor: string, role: 'hirer' | 'worker') => ({ actor, role, correlationId: randomUUID() });

function emptyRoute(timing: Timing): Promise<ClosedLoopSummary> {
  return withEmptyRoute((url) => closedLoop({ url, method: 'GET', headers: {}, connections: CONNECTIONS, ...timing }));
}

/** Removes the suite's search indexes (the projection's versions under the prefix). */
async function deleteIndexes(searchUrl: string, prefix: string): Promise<void> {
  const search = new SearchClient({ node: searchUrl });
  try {
    // By name: wildcard deletes are refused by default (action.destructive_requires_name).
    for (const kind of ['jobs', 'workers'] as const) {
      await search.indices.delete({ index: searchIndex(prefix, kind, SEARCH_VERSION) }, { ignore: [404] });
    }
  } finally {
    await search.close();
  }
}

/** Runs `task(i)` for i in 0..count-1 with `concurrency` in flight; the latency of each, in ms. */
async function pool(count: number, concurrency: number, task: (i: number) => Promise<unknown>): Promise<number[]> {
  const latencies: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < count; i = next++) {
        const started = performance.now();
        await task(i);
        latencies.push(performance.now() - started);
      }
    }),
  );
  return latencies;
}

async function run({ quick }: SuiteContext): Promise<SuiteResult> {
  const timing: Timing = quick ? { warmupSeconds: 2, measureSeconds: 5 } : { warmupSeconds: 5, measureSeconds: 15 };
  const profiles = quick ? 2000 : 10_000;
  const probes = quick ? 10 : 40;
  const applies = quick ? 500 : 2000;
  const prefix = `bench${uniqueSuffix()}.`;
  const database = await createBenchDatabase('marketplace');
  const config = benchConfig(database.url, prefix, {
    RATE_LIMIT_MAX: '1000000',
    RATE_LIMIT_IP_MAX: '10000000',
    RATE_LIMIT_WINDOW_MS: '60000',
  });
  let gateway: Awaited<ReturnType<typeof startGateway>> | null = null;
  let relay: Awaited<ReturnType<typeof startRelay>> | null = null;
  let projector: Awaited<ReturnType<typeof startProjector>> | null = null;
  try {
    gateway = await within(startGateway(config), START_TIMEOUT_MS, 'starting the gateway');
    const { port } = gateway.app.server.address() as AddressInfo;
    const write = gateway.write.marketplace;
    const token = gateway.tokens.accessToken({ accountId: 'bench-hirer', role: 'hirer' });

    progress(SUITE, `post-job through the gateway, closed loop: ${CONNECTIONS} connections`);
    const postJob = await closedLoop({
      url: `http://127.0.0.1:${port}/commands/marketplace/post-job`,
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: jobBody('Kitchen renovation'),
      freshIdField: 'jobId',
      connections: CONNECTIONS,
      ...timing,
    });
    progress(
      SUITE,
      `  ${Math.round(postJob.requestsPerSecond)} requests/s, p99 ${postJob.latencyMs.p99.toFixed(1)} ms`,
    );
    const empty = await emptyRoute(timing);

    progress(SUITE, `apply through its handler: ${applies} applications, concurrency 8`);
    const target = randomUUID();
    await write.postJob({ jobId: target, ...jobBody('Applied to') }, ctx('bench-hirer', 'hirer'));
    const applyStarted = performance.now();
    const applyLatencies = await pool(applies, 8, (i) =>
      write.apply(
        { jobId: target, coverLetter: 'bench', proposedAmountMinor: 200_000, currency: 'EUR' },
        ctx(`bench-worker-${i}`, 'worker'),
      ),
    );
    const applyRate = applies / ((performance.now() - applyStarted) / 1000);
    const apply = summarize(applyLatencies);

    relay = await within(startRelay(config), START_TIMEOUT_MS, 'starting the relay');
    projector = await within(startProjector(config), START_TIMEOUT_MS, 'starting the projector');
    const search = gateway.read.marketplace.search;

    progress(SUITE, `seeding ${profiles} worker profiles through the pipeline`);
    await pool(profiles, 8, (i) =>
      write.setWorkerProfile(
        {
          headline: `${SKILLS[i % SKILLS.length]} specialist ${i}`,
          bio: 'Benchmark worker',
          skills: [SKILLS[i % SKILLS.length]!, SKILLS[(i * 7) % SKILLS.length]!],
          hourlyRateMinor: 1500 + (i % 50) * 100,
          currency: 'EUR',
          location: { city: 'Lisbon', country: 'PT', lat: 38 + (i % 100) / 50, lon: -9.5 + (i % 70) / 50 },
          availability: 'AVAILABLE',
          portfolio: [],
          experience: [],
        },
        ctx(`bench-profile-${i}`, 'worker'),
      ),
    );
    const seeded = Date.now();
    for (;;) {
      const { total } = await search.workers({ limit: 1 });
      if (total >= profiles) break;
      if (Date.now() - seeded > 180_000) throw new Error(`only ${total} of ${profiles} profiles indexed after 3 min`);
      await sleep(500);
    }
    progress(SUITE, `  indexed in ${((Date.now() - seeded) / 1000).toFixed(1)} s after the last command`);

    progress(SUITE, `job posted → findable in search: ${probes} jobs, one at a time`);
    const findable: number[] = [];
    for (let i = 0; i < probes; i++) {
      const word = `probe${uniqueSuffix()}`;
      const started = performance.now();
      await write.postJob({ jobId: randomUUID(), ...jobBody(`Probe ${word}`) }, ctx('bench-hirer', 'hirer'));
      for (;;) {
        if ((await search.jobs({ q: word, limit: 1 })).total > 0) break;
        if (performance.now() - started > 30_000) throw new Error(`job ${word} not findable after 30 s`);
        await sleep(10);
      }
      findable.push(performance.now() - started);
    }
    const visible = summarize(findable);

    progress(SUITE, `worker search over ${profiles} profiles: 200 searches`);
    const searches = await pool(200, 4, (i) =>
      search.workers({
        ...(i % 2 === 0 && { q: SKILLS[i % SKILLS.length] }),
        skills: [SKILLS[(i * 3) % SKILLS.length]!],
        rateMinMinor: 2000,
        rateMaxMinor: 5000,
        minRating: 3,
        near: { lat: 38.7, lon: -9.1, radiusKm: 20 + (i % 5) * 20 },
      }),
    );
    const baseline = await pool(200, 4, () => search.workers({ limit: 20 }));
    const workerSearch = summarize(searches);
    const matchAll = summarize(baseline);

    return {
      rows: [
        row(
          SUITE,
          'post-job requests/s (vs empty Fastify route)',
          'requests/s',
          postJob.requestsPerSecond,
          empty.requestsPerSecond,
        ),
        row(SUITE, 'post-job latency p99, closed loop', 'ms', postJob.latencyMs.p99, empty.latencyMs.p99),
        row(SUITE, 'apply through its handler, requests/s (concurrency 8)', 'requests/s', applyRate, null),
        row(SUITE, 'apply through its handler, latency p99', 'ms', apply.p99, null),
        row(SUITE, 'job posted → findable in search, p99', 'ms', visible.p99, null, below(FINDABLE_TARGET_MS, 'p99')),
        row(
          SUITE,
          `worker search p99 on ${profiles} profiles (vs match_all)`,
          'ms',
          workerSearch.p99,
          matchAll.p99,
          informational,
        ),
      ],
      details: {
        postJob,
        empty,
        failedPostJobs: failedRequests(postJob),
        apply,
        applyRate,
        findable: visible,
        workerSearch,
        matchAll,
        profiles,
      },
    };
  } finally {
    await projector?.stop();
    await relay?.stop();
    await gateway?.stop();
    await deleteIndexes(config.searchUrl, prefix);
    await deleteRedisKeys(prefix);
    await deleteSubjects(prefix);
    await database.drop();
  }
}

export const marketplaceSuite: Suite = { name: SUITE, run };
