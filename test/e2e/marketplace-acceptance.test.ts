import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startGateway } from '../../gateway/main.js';
import { type PaymentSimulator, startPaymentSimulator } from '../../ops/simulators/payments/server.js';
import type { Role } from '../../runtime/roles.js';
import { startSagas } from '../../sagas/main.js';
import { baseUrlOf } from '../support/gateway.js';
import { applyBody, idOf, jobBody, threeMilestones, workerProfileBody } from '../support/marketplace/fixtures.js';
import { marketplaceHttp } from '../support/marketplace/http.js';
import { openSse } from '../support/sse.js';
import { startTestSystem, type TestSystem, waitUntil } from '../support/system.js';

// The acceptance path through HTTP on the real stack (PostgreSQL, Kafka, the registry, Elasticsearch,
// Redis): a hirer posts a job → two workers apply → the hirer accepts one → the accept-application process makes
// the contract with three milestones and tells the other worker → the hirer funds it → submit and approve all →
// both review →
// reputation shows it; the other application is NOT_SELECTED.

let sys: TestSystem;
let gateway: Awaited<ReturnType<typeof startGateway>>;
let sagas: Awaited<ReturnType<typeof startSagas>>;
let sim: PaymentSimulator;
let base: string;

beforeAll(async () => {
  sys = await startTestSystem('mktaccept');
  await sys.startProjector();
  gateway = await startGateway(sys.config);
  base = baseUrlOf(gateway.app);
  sim = await startPaymentSimulator({
    port: 0,
    webhookUrl: `${base}/webhooks/payments`,
    connectWebhookUrl: `${base}/webhooks/marketplace`,
    webhookSecret: sys.config.stripeWebhookSecret,
  });
  sagas = await startSagas({ ...sys.config, paymentSimulatorUrl: sim.url, sagaRetryBaseMs: 50 });
});
afterAll(async () => {
  await sagas?.stop();
  await gateway?.stop();
  await sim?.close();
  await sys?.close();
});

const as = (accountId: string, role: Role) => gateway.tokens.accessToken({ accountId, role });
const hirer = () => as('acc-hirer', 'hirer');
const workerA = () => as('acc-worker-a', 'worker');
const workerB = () => as('acc-worker-b', 'worker');

const http = () => marketplaceHttp(base, gateway.tokens);
const post = (path: string, body: unknown, token: string) => http().post(path, body, token);
const get = (path: string, token: string) => http().get(path, token);
const eventually = (path: string, token: string, ok: (body: Record<string, unknown>) => boolean, what: string) =>
  http().eventually(path, token, ok, what);

describe('marketplace acceptance', () => {
  it('goes from a posted job to a completed, reviewed contract', async () => {
    expect((await post('set-worker-profile', workerProfileBody(), workerA())).status).toBe(200);
    expect((await post('set-worker-profile', workerProfileBody({ headline: 'Painter' }), workerB())).status).toBe(200);

    const posted = await post('post-job', jobBody(), hirer());
    expect(posted.status).toBe(201);
    const jobId = idOf(posted.body, 'job');

    const a = await post('apply', applyBody(jobId), workerA());
    const b = await post('apply', applyBody(jobId, { proposedAmountMinor: 150_000 }), workerB());
    expect([a.status, b.status]).toEqual([201, 201]);
    const applicationA = idOf(a.body, 'application');
    const applicationB = idOf(b.body, 'application');

    // Worker B follows their applications live (SSE) from before the decision.
    const live = await openSse(`${base}/streams/marketplace/me`, { authorization: `Bearer ${workerB()}` });
    expect(live.status).toBe(200);
    // Worker A follows theirs on the gateway's WebSocket, the channel beside the orders.
    const socket = new WebSocket(`${base.replace('http', 'ws')}/ws?access_token=${workerA()}`);
    const received: { type: string; channel?: string; data?: Record<string, unknown> }[] = [];
    socket.on('message', (raw) => received.push(JSON.parse(String(raw))));
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
    socket.send(JSON.stringify({ type: 'subscribe', channel: 'marketplace' }));
    await waitUntil(async () => received.some((m) => m.type === 'subscribed'), 10_000, 'the channel subscription');
    expect(received[0]).toEqual({ type: 'subscribed', channel: 'marketplace' });

    const accepted = await post(
      'accept-application',
      { applicationId: applicationA, milestones: threeMilestones() },
      hirer(),
    );
    expect(accepted.status).toBe(200);

    // The process accepts A, makes the contract (its id is A's) and tells B.
    const contractId = applicationA;
    await eventually(`contracts/${contractId}/escrow`, hirer(), () => true, 'the escrow opened');
    // The hirer funds the whole contract (issue 16); the escrow process charges the card and starts the contract.
    const funded = await post('fund-contract', { contractId, paymentMethod: '4242424242424242' }, hirer());
    expect(funded.status).toBe(200);
    const contract = await eventually(
      `contracts/${contractId}`,
      workerA(),
      (c) => c.status === 'ACTIVE',
      'the contract',
    );
    expect(contract).toMatchObject({
      status: 'ACTIVE',
      amountMinor: 200_000,
      hirerId: 'acc-hirer',
      workerId: 'acc-worker-a',
      milestones: [{ milestoneId: 'm1' }, { milestoneId: 'm2' }, { milestoneId: 'm3' }],
    });
    await eventually(`applications/${applicationB}`, workerB(), (x) => x.status === 'NOT_SELECTED', 'B not selected');
    await live.waitFor((events) =>
      events.some((e) => (e.data as { applicationId?: string; status?: string }).status === 'NOT_SELECTED'),
    );
    expect(live.events.map((e) => e.data)).toContainEqual(
      expect.objectContaining({ kind: 'application', applicationId: applicationB, jobId, status: 'NOT_SELECTED' }),
    );
    await live.close();
    await waitUntil(
      async () => received.some((m) => m.type === 'status' && m.data?.status === 'ACCEPTED'),
      30_000,
      'A accepted on the WebSocket',
    );
    expect(received.filter((m) => m.type === 'status')).toContainEqual(
      expect.objectContaining({
        channel: 'marketplace',
        data: expect.objectContaining({ kind: 'application', applicationId: applicationA, status: 'ACCEPTED' }),
      }),
    );
    socket.terminate();
    await eventually(`applications/${applicationA}`, workerA(), (x) => x.status === 'ACCEPTED', 'A accepted');
    expect((await get(`jobs/${jobId}`, workerB())).body).toMatchObject({ status: 'FILLED' });

    // Only the parties see the contract; B is told it does not exist.
    expect(await get(`contracts/${contractId}`, workerB())).toMatchObject({
      status: 404,
      body: { error: { code: 'CONTRACT_NOT_FOUND' } },
    });

    for (const milestoneId of ['m1', 'm2', 'm3']) {
      expect(
        (await post('submit-milestone', { contractId, milestoneId, note: `${milestoneId} done` }, workerA())).status,
      ).toBe(200);
      expect((await post('approve-milestone', { contractId, milestoneId }, hirer())).status).toBe(200);
    }
    const review = await post('review-contract', { contractId, rating: 5, text: 'Excellent work' }, hirer());
    expect(review.status).toBe(201);
    const workerReview = await post('review-contract', { contractId, rating: 4, text: 'Clear brief' }, workerA());
    expect(workerReview.status).toBe(201);

    const done = await get(`contracts/${contractId}?after=${workerReview.body.position}`, hirer());
    expect(done.body).toMatchObject({ status: 'COMPLETED', approvedMinor: 200_000 });
    const timeline = (done.body.timeline as { eventType: string }[]).map((e) => e.eventType);
    expect(timeline).toEqual([
      'ContractCreated',
      'ContractStarted',
      ...Array.from({ length: 3 }, () => ['MilestoneSubmitted', 'MilestoneApproved']).flat(),
      'ContractCompleted',
      'ContractReviewed',
      'ContractReviewed',
    ]);

    // Reputation: one 5-star review over the prior of 5 reviews at 3.5 → (17.5 + 5) / 6.
    const profile = await eventually(
      `profiles/acc-worker-a`,
      workerB(),
      (x) => (x.reputation as { count: number }).count === 1,
      'the worker’s reputation',
    );
    expect(profile.reputation).toEqual({ score: 3.75, count: 1, distribution: [0, 0, 0, 0, 1] });
    expect(profile.reviews).toMatchObject([{ rating: 5, text: 'Excellent work', reviewerSide: 'HIRER' }]);

    const hirerDashboard = await get('dashboard/hirer', hirer());
    expect(hirerDashboard.body.jobs).toMatchObject([
      { jobId, status: 'FILLED', applications: { ACCEPTED: 1, NOT_SELECTED: 1 } },
    ]);
    // Search shows it: the worker's rating (3.75) passes minRating=3.7 near Lisbon; B (no reviews: 3.5) does not.
    const found = await eventually(
      'search/workers?skills=tiling&minRating=3.7&lat=38.7&lon=-9.1&radiusKm=20',
      hirer(),
      (x) => (x.total as number) === 1,
      'the reviewed worker in search',
    );
    expect(found.items).toMatchObject([{ workerId: 'acc-worker-a', rating: 3.75, reviewCount: 1 }]);
    expect((found.items as { distanceKm: number }[])[0]!.distanceKm).toBeLessThan(10);
    const everyone = await get('search/workers?skills=tiling', hirer());
    expect(everyone.body.total).toBe(2);
    // Jobs: the filled job is not offered any more; an open one is found by text, budget and distance.
    const next = await post('post-job', jobBody({ title: 'Bathroom tiling', jobId: `${jobId}-2` }), hirer());
    expect(next.status).toBe(201);
    const jobs = await eventually(
      'search/jobs?q=tiling&budgetMin=250000&budgetMax=900000&lat=38.7&lon=-9.1&radiusKm=20',
      workerB(),
      (x) => (x.total as number) >= 1,
      'the open job in search',
    );
    expect((jobs.items as { jobId: string }[]).map((j) => j.jobId)).toEqual([`${jobId}-2`]);
    const outOfBudget = await get('search/jobs?q=tiling&budgetMax=90000', workerB());
    expect(outOfBudget.body.total).toBe(0);

    const workerDashboard = await get('dashboard/worker', workerA());
    expect(workerDashboard.body).toMatchObject({
      applicationsByStatus: { ACCEPTED: 1 },
      earnings: [{ currency: 'EUR', approvedMinor: 200_000 }],
    });
  });
});
