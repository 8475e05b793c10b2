import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PostJobInput, WorkerProfileInput } from '../../../commands/marketplace/handlers.js';
import { startSagas } from '../../../sagas/main.js';
import { startContract } from '../../support/marketplace/contracts.js';
import { applyBody, jobBody, threeMilestones, workerProfileBody } from '../../support/marketplace/fixtures.js';
import { startTestSystem, type TestSystem, waitUntil } from '../../support/system.js';

// The accept-application process on the real saga runtime, and moderation through the read models.

let sys: TestSystem;
let sagas: Awaited<ReturnType<typeof startSagas>> | null = null;
const as = (actor: string, role: 'hirer' | 'worker' | 'admin') => ({ actor, role, correlationId: randomUUID() });

beforeAll(async () => {
  sys = await startTestSystem('mktprocess');
  await sys.startProjector();
}, 120_000);
afterAll(async () => {
  await sagas?.stop();
  await sys?.close();
});

const startProcess = async () => {
  sagas = await startSagas({ ...sys.config, sagaRetryBaseMs: 50 });
};
const job = (jobId: string) => sys.read.marketplace.work.job(jobId);

describe('the accept-application process', () => {
  it('reopens the job when the accepted application was withdrawn before the process reached it, across a restart', async () => {
    const m = sys.write.marketplace;
    const jobId = `job-${randomUUID()}`;
    await m.postJob({ ...(jobBody() as unknown as PostJobInput), jobId }, as('h-1', 'hirer'));
    const applied = await m.apply({ ...applyBody(jobId), coverLetter: '' }, as('w-1', 'worker'));
    const applicationId = applied.streamId.replace(/^application-/, '');
    // The process is not running: the hirer accepts, then the worker withdraws before it acts.
    await m.acceptApplication({ applicationId, milestones: threeMilestones() }, as('h-1', 'hirer'));
    await m.withdrawApplication({ applicationId }, as('w-1', 'worker'));
    await startProcess();
    await waitUntil(async () => (await job(jobId))?.status === 'OPEN' || undefined, 30_000, 'the job reopened');
    expect(await sys.read.marketplace.work.contract(applicationId)).toBeNull();
    // The job takes applications again and can be filled by another one.
    const again = await m.apply({ ...applyBody(jobId), coverLetter: '' }, as('w-2', 'worker'));
    const second = again.streamId.replace(/^application-/, '');
    await m.acceptApplication({ applicationId: second, milestones: threeMilestones() }, as('h-1', 'hirer'));
    await waitUntil(
      // Made FUNDING: it waits for its escrow to be funded (the escrow process's, not this test's).
      async () => (await sys.read.marketplace.work.contract(second))?.status === 'FUNDING' || undefined,
      30_000,
      'the second acceptance to make its contract',
    );
    expect((await sys.read.marketplace.work.application(applicationId))?.status).toBe('WITHDRAWN');
  });
});

describe('moderation', () => {
  it('takes a hidden review out of the profile, the reputation and the worker search rating', async () => {
    const m = sys.write.marketplace;
    await m.setWorkerProfile(
      { ...(workerProfileBody() as unknown as WorkerProfileInput), portfolio: [], experience: [] },
      as('w-9', 'worker'),
    );
    const jobId = `job-${randomUUID()}`;
    await m.postJob({ ...(jobBody() as unknown as PostJobInput), jobId }, as('h-9', 'hirer'));
    const contractId = (await m.apply({ ...applyBody(jobId), coverLetter: '' }, as('w-9', 'worker'))).streamId.replace(
      /^application-/,
      '',
    );
    await m.acceptApplication({ applicationId: contractId, milestones: threeMilestones() }, as('h-9', 'hirer'));
    // The contract is made by the accept-application process; the escrow process would start it once funded.
    await startContract(sys.write, contractId);
    for (const milestoneId of ['m1', 'm2', 'm3']) {
      await m.submitMilestone({ contractId, milestoneId, note: '' }, as('w-9', 'worker'));
      await m.approveMilestone({ contractId, milestoneId }, as('h-9', 'hirer'));
    }
    await m.reviewContract({ contractId, rating: 1, text: 'rude words' }, as('h-9', 'hirer'));
    const rated = async (count: number) =>
      (await sys.read.marketplace.profiles.reputation('w-9')).count === count &&
      (await sys.read.marketplace.search.workers({ q: 'tiler' })).items.some(
        (w) => w.workerId === 'w-9' && w.reviewCount === count,
      );
    await waitUntil(() => rated(1), 30_000, 'the review counted');
    expect(await sys.read.marketplace.profiles.reputation('w-9')).toEqual({
      score: (5 * 3.5 + 1) / 6,
      count: 1,
      distribution: [1, 0, 0, 0, 0],
    });

    await m.hideReview({ contractId, side: 'HIRER', reason: 'abusive' }, as('admin-1', 'admin'));
    await waitUntil(() => rated(0), 30_000, 'the hidden review uncounted');
    expect(await sys.read.marketplace.profiles.reputation('w-9')).toEqual({
      score: 3.5,
      count: 0,
      distribution: [0, 0, 0, 0, 0],
    });
    expect((await sys.read.marketplace.profiles.profile('w-9'))?.reviews).toEqual([]);
  });
});
