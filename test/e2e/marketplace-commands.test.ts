import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applicationIdFor } from '../../commands/marketplace/application.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { startContract } from '../support/marketplace/contracts.js';
import {
  applyBody,
  asAdmin,
  asHirer,
  asWorker,
  dayFromToday,
  idOf,
  jobBody,
  threeMilestones,
  workerProfileBody,
} from '../support/marketplace/fixtures.js';

// The marketplace's commands through the gateway (no projector, no saga: the accept-application and escrow
// processes have their own tests). Every refusal is a 4xx with a stable code and appends nothing.

let gw: TestGateway;
let jobId: string;
let applicationId: string;
const internal = { actor: 'test', correlationId: 'test' };

beforeAll(async () => {
  gw = await startTestGateway('e2emkt');
  const posted = await gw.post('/commands/marketplace/post-job', jobBody(), asHirer());
  expect(posted.status).toBe(201);
  jobId = idOf(posted.body, 'job');
  const applied = await gw.post('/commands/marketplace/apply', applyBody(jobId), asWorker());
  expect(applied.status).toBe(201);
  applicationId = idOf(applied.body, 'application');
});
afterAll(() => gw?.close());

/** A contract made as the accept-application process makes it (its saga is not running here): FUNDING. */
async function makeContract(): Promise<string> {
  const job = idOf((await gw.post('/commands/marketplace/post-job', jobBody(), asHirer())).body, 'job');
  const app = idOf((await gw.post('/commands/marketplace/apply', applyBody(job), asWorker())).body, 'application');
  expect(
    (
      await gw.post(
        '/commands/marketplace/accept-application',
        { applicationId: app, milestones: threeMilestones() },
        asHirer(),
      )
    ).status,
  ).toBe(200);
  await gw.running.write.marketplace.recordAcceptance({ applicationId: app, contractId: app }, internal);
  const milestones = threeMilestones().map((m, i) => ({ ...m, milestoneId: `m${i + 1}` }));
  await gw.running.write.marketplace.createContract(
    {
      contractId: app,
      jobId: job,
      applicationId: app,
      hirerId: 'hirer-1',
      workerId: 'worker-1',
      title: 'Kitchen',
      amountMinor: 200_000,
      currency: 'EUR',
      milestones,
    },
    internal,
  );
  return app;
}

describe('POST /commands/marketplace/*', () => {
  it('posts a job, takes an application under the id derived from job and worker, and refuses a second', async () => {
    expect(applicationId).toBe(applicationIdFor(jobId, 'worker-1'));
    const again = await gw.post('/commands/marketplace/apply', applyBody(jobId), asWorker());
    expect(again).toMatchObject({ status: 409, body: { error: { code: 'APPLICATION_EXISTS' } } });
  });

  it('stores a worker profile with normalised skills', async () => {
    const res = await gw.post('/commands/marketplace/set-worker-profile', workerProfileBody(), asWorker('worker-p'));
    expect(res.status).toBe(200);
    const [event] = await gw.running.write.store.readStream('profile-worker-p');
    const decoded = await gw.running.write.codec.decode(event!.payload);
    expect(decoded.data).toMatchObject({ skills: ['tiling', 'plumbing'], workerId: 'worker-p', portfolio: [] });
  });

  it('edits a job under If-Match, and answers 409 with a stale version', async () => {
    const job = idOf((await gw.post('/commands/marketplace/post-job', jobBody(), asHirer())).body, 'job');
    const edit = (title: string, version: string) =>
      gw.post(
        '/commands/marketplace/update-job',
        { jobId: job, ...jobBody({ title }) },
        { ...asHirer(), 'if-match': version },
      );
    expect(await edit('First edit', '"1"')).toMatchObject({ status: 200, body: { version: 2 } });
    const before = await gw.eventCount();
    expect(await edit('Second edit', '"1"')).toMatchObject({
      status: 409,
      body: { error: { code: 'STREAM_VERSION_CONFLICT' } },
    });
    // Someone else's job answers 404 under If-Match too, never its version.
    const other = await gw.post(
      '/commands/marketplace/update-job',
      { jobId: job, ...jobBody() },
      { ...asHirer('hirer-2'), 'if-match': '"1"' },
    );
    expect(other).toMatchObject({ status: 404, body: { error: { code: 'JOB_NOT_FOUND' } } });
    expect(await gw.eventCount()).toBe(before);
  });

  it('walks a contract through its milestones to COMPLETED and takes one review from each side', async () => {
    const contractId = await makeContract();
    // Not before its escrow is funded: then the escrow process starts it, as here.
    const early = await gw.post(
      '/commands/marketplace/submit-milestone',
      { contractId, milestoneId: 'm1' },
      asWorker(),
    );
    expect(early).toMatchObject({
      status: 409,
      body: { error: { code: 'CONTRACT_NOT_ACTIVE', details: { status: 'FUNDING' } } },
    });
    await startContract(gw.running.write, contractId);
    for (const milestoneId of ['m1', 'm2', 'm3']) {
      expect(
        (await gw.post('/commands/marketplace/submit-milestone', { contractId, milestoneId }, asWorker())).status,
      ).toBe(200);
      expect(
        (await gw.post('/commands/marketplace/approve-milestone', { contractId, milestoneId }, asHirer())).status,
      ).toBe(200);
    }
    const review = (headers: Record<string, string>) =>
      gw.post('/commands/marketplace/review-contract', { contractId, rating: 5, text: 'Great' }, headers);
    expect((await review(asHirer())).status).toBe(201);
    expect(await review(asHirer())).toMatchObject({ status: 409, body: { error: { code: 'REVIEW_EXISTS' } } });
    expect((await review(asWorker())).status).toBe(201);
    const hidden = await gw.post(
      '/commands/marketplace/hide-review',
      { contractId, side: 'HIRER', reason: 'abuse' },
      asAdmin,
    );
    expect(hidden.status).toBe(200);
  });

  const badRequests: [string, string, () => unknown, number, string, Record<string, string>][] = [
    ['missing fields', 'post-job', () => ({ title: 'x' }), 400, 'VALIDATION_FAILED', asHirer()],
    [
      'a budget sent as a string',
      'post-job',
      () => jobBody({ budget: { kind: 'FIXED', minMinor: '1', maxMinor: 2, currency: 'EUR' } }),
      400,
      'VALIDATION_FAILED',
      asHirer(),
    ],
    [
      'a negative budget',
      'post-job',
      () => jobBody({ budget: { kind: 'FIXED', minMinor: -1, maxMinor: 2, currency: 'EUR' } }),
      400,
      'VALIDATION_FAILED',
      asHirer(),
    ],
    [
      'a huge budget',
      'post-job',
      () => jobBody({ budget: { kind: 'FIXED', minMinor: 1, maxMinor: 1e15, currency: 'EUR' } }),
      400,
      'VALIDATION_FAILED',
      asHirer(),
    ],
    [
      'a budget range upside down',
      'post-job',
      () => jobBody({ budget: { kind: 'FIXED', minMinor: 9, maxMinor: 2, currency: 'EUR' } }),
      400,
      'BUDGET_RANGE_INVALID',
      asHirer(),
    ],
    [
      'a deadline in the past',
      'post-job',
      () => jobBody({ deadline: dayFromToday(-1) }),
      400,
      'DATE_OUT_OF_RANGE',
      asHirer(),
    ],
    [
      'a deadline that is no date',
      'post-job',
      () => jobBody({ deadline: '2026-02-30' }),
      400,
      'VALIDATION_FAILED',
      asHirer(),
    ],
    [
      'a deadline decades ahead',
      'post-job',
      () => jobBody({ deadline: '2090-01-01' }),
      400,
      'DATE_OUT_OF_RANGE',
      asHirer(),
    ],
    [
      'a latitude off the globe',
      'post-job',
      () => jobBody({ location: { city: 'X', country: 'PT', lat: 91, lon: 0 } }),
      400,
      'VALIDATION_FAILED',
      asHirer(),
    ],
    [
      'an on-site job without a place',
      'post-job',
      () => jobBody({ location: null }),
      400,
      'LOCATION_REQUIRED',
      asHirer(),
    ],
    [
      'a skill that is no skill name',
      'post-job',
      () => jobBody({ skills: ['<script>'] }),
      400,
      'INVALID_SKILL',
      asHirer(),
    ],
    ['an unknown property', 'close-job', () => ({ jobId, extra: true }), 400, 'VALIDATION_FAILED', asHirer()],
    ['an id with a slash', 'close-job', () => ({ jobId: 'a/b' }), 400, 'VALIDATION_FAILED', asHirer()],
    ['a command outside the caller’s role', 'post-job', () => jobBody(), 403, 'FORBIDDEN', asWorker()],
    ['no caller', 'post-job', () => jobBody(), 401, 'UNAUTHENTICATED', { 'x-actor-id': '' }],
    ['an unknown job', 'close-job', () => ({ jobId: 'nope' }), 404, 'JOB_NOT_FOUND', asHirer()],
    ['another hirer’s job', 'close-job', () => ({ jobId }), 404, 'JOB_NOT_FOUND', asHirer('hirer-2')],
    [
      'another hirer’s job id for a new job',
      'post-job',
      () => jobBody({ jobId }),
      409,
      'JOB_ID_TAKEN',
      asHirer('hirer-2'),
    ],
    ['an application to an unknown job', 'apply', () => applyBody('nope'), 404, 'JOB_NOT_FOUND', asWorker()],
    [
      'a proposal of zero',
      'apply',
      () => applyBody(jobId, { proposedAmountMinor: 0 }),
      400,
      'VALIDATION_FAILED',
      asWorker('worker-9'),
    ],
    [
      'a proposal in another currency',
      'apply',
      () => applyBody(jobId, { currency: 'USD' }),
      422,
      'CURRENCY_MISMATCH',
      asWorker('worker-9'),
    ],
    [
      'a cover letter too long',
      'apply',
      () => applyBody(jobId, { coverLetter: 'x'.repeat(5001) }),
      400,
      'VALIDATION_FAILED',
      asWorker('worker-9'),
    ],
    [
      'another worker’s application',
      'withdraw-application',
      () => ({ applicationId }),
      404,
      'APPLICATION_NOT_FOUND',
      asWorker('worker-2'),
    ],
    [
      'an application to another hirer’s job',
      'shortlist-application',
      () => ({ applicationId }),
      404,
      'APPLICATION_NOT_FOUND',
      asHirer('hirer-2'),
    ],
    [
      'an unknown application',
      'accept-application',
      () => ({ applicationId: 'nope', milestones: threeMilestones() }),
      404,
      'APPLICATION_NOT_FOUND',
      asHirer(),
    ],
    [
      'milestones not summing to the amount',
      'accept-application',
      () => ({ applicationId, milestones: threeMilestones().slice(1) }),
      422,
      'MILESTONE_SUM_MISMATCH',
      asHirer(),
    ],
    [
      'a milestone due yesterday',
      'accept-application',
      () => ({
        applicationId,
        milestones: threeMilestones().map((m, i) => (i === 0 ? { ...m, dueDate: dayFromToday(-1) } : m)),
      }),
      400,
      'DATE_OUT_OF_RANGE',
      asHirer(),
    ],
    [
      'no milestones',
      'accept-application',
      () => ({ applicationId, milestones: [] }),
      400,
      'VALIDATION_FAILED',
      asHirer(),
    ],
    [
      'an unknown contract',
      'submit-milestone',
      () => ({ contractId: 'nope', milestoneId: 'm1' }),
      404,
      'CONTRACT_NOT_FOUND',
      asWorker(),
    ],
    [
      'a rating of six stars',
      'review-contract',
      () => ({ contractId: 'nope', rating: 6 }),
      400,
      'VALIDATION_FAILED',
      asWorker(),
    ],
    [
      'a rating sent as text',
      'review-contract',
      () => ({ contractId: 'nope', rating: '5' }),
      400,
      'VALIDATION_FAILED',
      asWorker(),
    ],
    [
      'a review of a contract one is not on',
      'review-contract',
      () => ({ contractId: 'nope', rating: 5 }),
      404,
      'CONTRACT_NOT_FOUND',
      asWorker('worker-2'),
    ],
    [
      'hiding a review as a hirer',
      'hide-review',
      () => ({ contractId: 'x', side: 'HIRER', reason: 'r' }),
      403,
      'FORBIDDEN',
      asHirer(),
    ],
  ];

  it.each(badRequests)(
    'refuses %s with a stable code and appends nothing',
    async (_name, command, input, status, code, headers) => {
      const before = await gw.eventCount();
      const res = await gw.post(`/commands/marketplace/${command}`, input(), headers);
      expect(res.status).toBe(status);
      expect(res.body).toMatchObject({ error: { code, message: expect.any(String), details: expect.any(Object) } });
      expect(await gw.eventCount()).toBe(before);
    },
  );

  it('keeps contracts to their parties: another worker or hirer is told it does not exist', async () => {
    const contractId = await makeContract();
    const before = await gw.eventCount();
    const cases: [string, Record<string, unknown>, Record<string, string>][] = [
      ['submit-milestone', { contractId, milestoneId: 'm1' }, asWorker('worker-2')],
      ['approve-milestone', { contractId, milestoneId: 'm1' }, asHirer('hirer-2')],
      ['cancel-contract', { contractId, reason: 'x' }, asWorker('worker-2')],
      ['review-contract', { contractId, rating: 1 }, asHirer('hirer-2')],
    ];
    for (const [command, body, headers] of cases) {
      const res = await gw.post(`/commands/marketplace/${command}`, body, headers);
      expect(res, command).toMatchObject({ status: 404, body: { error: { code: 'CONTRACT_NOT_FOUND' } } });
    }
    expect(await gw.eventCount()).toBe(before);
    // The parties themselves: a review before completion is a 409, not a 404.
    const early = await gw.post('/commands/marketplace/review-contract', { contractId, rating: 5 }, asWorker());
    expect(early).toMatchObject({ status: 409, body: { error: { code: 'CONTRACT_NOT_COMPLETED' } } });
  });

  it('fills a job once: accepting a second application is JOB_ALREADY_FILLED', async () => {
    const job = idOf(
      (await gw.post('/commands/marketplace/post-job', jobBody({ jobId: randomUUID() }), asHirer())).body,
      'job',
    );
    const a = idOf((await gw.post('/commands/marketplace/apply', applyBody(job), asWorker('wa'))).body, 'application');
    const b = idOf((await gw.post('/commands/marketplace/apply', applyBody(job), asWorker('wb'))).body, 'application');
    const accept = (applicationId: string) =>
      gw.post('/commands/marketplace/accept-application', { applicationId, milestones: threeMilestones() }, asHirer());
    const [first, second] = await Promise.all([accept(a), accept(b)]);
    expect([first.status, second.status].sort()).toEqual([200, 409]);
    expect([first, second].find((r) => r.status === 409)?.body).toMatchObject({
      error: { code: 'JOB_ALREADY_FILLED' },
    });
  });
});
