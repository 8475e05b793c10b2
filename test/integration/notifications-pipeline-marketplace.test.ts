import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PostJobInput } from '../../commands/marketplace/handlers.js';
import { NOTIFICATIONS_PROJECTION, notificationsTables } from '../../projections/identity/notifications.js';
import { activeVersion } from '../../projections/runtime/versions.js';
import { NotificationQueries } from '../../queries/identity/notifications.js';
import { startSagas } from '../../sagas/main.js';
import { ledgerCli } from '../support/cli.js';
import { startContract } from '../support/marketplace/contracts.js';
import { applyBody, jobBody, threeMilestones } from '../support/marketplace/fixtures.js';
import { ctx } from '../support/ordering.js';
import { startTestSystem, type TestSystem, waitUntil } from '../support/system.js';

// Marketplace events on the real pipeline (commands, the accept-application saga, Avro through Kafka, the projector)
// into the notifications read model, read with the query; then `ledger projections rebuild ordering.notifications`
// builds the next version from the event store, which must hold the same rows.

let sys: TestSystem;
let sagas: Awaited<ReturnType<typeof startSagas>> | null = null;
const as = (actor: string, role: 'hirer' | 'worker') => ({ actor, role, correlationId: randomUUID() });
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
  sys = await startTestSystem('notifmktpipe');
  sagas = await startSagas({ ...sys.config, sagaRetryBaseMs: 50 });
}, 120_000);
afterAll(async () => {
  await sagas?.stop();
  await sys?.close();
});

const register = async (role: 'hirer' | 'worker') =>
  (
    await sys.write.identity.register(
      { email: `${role}-${randomUUID()}@example.com`, password: 'correct horse', role },
      ctx('anonymous'),
    )
  ).accountId;

const kinds = async (accountId: string, version?: number) => {
  const queries = version
    ? new NotificationQueries(sys.read.readDb, async () => version)
    : sys.read.identity.notifications;
  return (await queries.list(accountId, { limit: 100 })).items.map((n) => [
    n.channel,
    n.kind,
    n.subject.kind,
    n.subject.id,
  ]);
};
const count = (rows: unknown[][], kind: string) => rows.filter((r) => r[1] === kind).length;

describe('marketplace notifications through the real pipeline', () => {
  let hirerId: string;
  let workerId: string;
  let otherId: string;
  let contractId: string;
  let otherApplicationId: string;

  it('tells the hirer and the workers, on the channels each enabled', async () => {
    [hirerId, workerId, otherId] = [await register('hirer'), await register('worker'), await register('worker')];
    await sys.write.identity.setNotificationPreferences({ accountId: otherId, email: false, push: true }, ctx(otherId));
    const m = sys.write.marketplace;
    const jobId = `job-${randomUUID()}`;
    await m.postJob({ ...(jobBody() as unknown as PostJobInput), jobId }, as(hirerId, 'hirer'));
    const applied = await m.apply({ ...applyBody(jobId), coverLetter: 'x' }, as(workerId, 'worker'));
    const other = await m.apply({ ...applyBody(jobId), coverLetter: 'y' }, as(otherId, 'worker'));
    contractId = applied.streamId.replace(/^application-/, '');
    otherApplicationId = other.streamId.replace(/^application-/, '');
    await m.shortlistApplication({ applicationId: contractId }, as(hirerId, 'hirer'));
    await m.acceptApplication({ applicationId: contractId, milestones: threeMilestones() }, as(hirerId, 'hirer'));
    // The accept-application process makes the contract FUNDING; the escrow process would start it once the money
    // is held (no payment provider here): started as it would be, then seen ACTIVE by the read side.
    await startContract(sys.write, contractId);
    await waitUntil(
      async () => (await sys.read.marketplace.work.contract(contractId))?.status === 'ACTIVE' || undefined,
      30_000,
      'the contract made by the accept-application process, started',
    );
    for (const milestoneId of ['m1', 'm2', 'm3']) {
      await m.submitMilestone({ contractId, milestoneId, note: '' }, as(workerId, 'worker'));
      await m.approveMilestone({ contractId, milestoneId }, as(hirerId, 'hirer'));
    }
    await m.reviewContract({ contractId, rating: 5, text: 'tidy work' }, as(hirerId, 'hirer'));
    const last = await m.reviewContract({ contractId, rating: 4, text: 'paid on time' }, as(workerId, 'worker'));
    // Read-your-writes reaches a contract's event: the query side's projection has the contributed topics.
    await sys.read.identity.waiter.waitFor(last.position, await sys.read.identity.notificationsProjection(), {
      timeoutMs: 30_000,
    });
    // The not-selected event is the process's, at a position nobody was told: wait for its row.
    await waitUntil(async () => (await kinds(otherId)).length > 0 || undefined, 30_000, 'the not-selected row');

    const hirer = await kinds(hirerId);
    expect([
      count(hirer, 'APPLICATION_RECEIVED'),
      count(hirer, 'MILESTONE_SUBMITTED'),
      count(hirer, 'REVIEW_RECEIVED'),
    ]).toEqual([4, 6, 2]);
    expect(hirer).toHaveLength(12);
    expect(hirer).toContainEqual(['push', 'APPLICATION_RECEIVED', 'application', otherApplicationId]);
    expect(hirer).toContainEqual(['email', 'MILESTONE_SUBMITTED', 'contract', contractId]);

    const worker = await kinds(workerId);
    expect(
      ['APPLICATION_SHORTLISTED', 'APPLICATION_ACCEPTED', 'MILESTONE_APPROVED', 'REVIEW_RECEIVED'].map((k) =>
        count(worker, k),
      ),
    ).toEqual([2, 2, 6, 2]);
    expect(worker).toHaveLength(12);
    const [newest] = (await sys.read.identity.notifications.list(workerId, { limit: 1 })).items;
    expect(newest).toMatchObject({ kind: 'REVIEW_RECEIVED', body: 'You were reviewed: 5 stars.', orderId: null });

    // Push only, as they chose.
    expect(await kinds(otherId)).toEqual([['push', 'APPLICATION_NOT_SELECTED', 'application', otherApplicationId]]);
  }, 120_000);

  it('rebuilds the same notifications from the event store into the next version, and reads switch to it', async () => {
    const result = await ledgerJson<Record<string, unknown>>([
      'projections',
      'rebuild',
      NOTIFICATIONS_PROJECTION,
      '--keep-old',
    ]);
    expect(result).toMatchObject({ version: 2, activated: true, isolated: { count: 0 } });
    expect(await activeVersion(sys.read.readDb, NOTIFICATIONS_PROJECTION, 1)).toBe(2);
    const rows = async (version: number) =>
      sys.read.readDb(notificationsTables(version).notifications).select().orderBy('notification_id');
    const rebuilt = await rows(2);
    expect(rebuilt.length).toBeGreaterThanOrEqual(25);
    expect(rebuilt).toEqual(await rows(1));
    for (const accountId of [hirerId, workerId, otherId])
      expect(await kinds(accountId, 2)).toEqual(await kinds(accountId, 1));
  }, 120_000);
});
