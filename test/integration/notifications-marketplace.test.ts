import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { notificationContributions } from '../../projections/contexts.js';
import { notificationsReadModel, notificationsTables } from '../../projections/identity/notifications.js';
import { postgresProjection } from '../../projections/runtime/postgres.js';
import { ensureRuntimeTables } from '../../projections/runtime/tables.js';
import { NotificationQueries } from '../../queries/identity/notifications.js';
import type { BatchSource, ProjectedEvent } from '../../runtime/consumer/types.js';
import { connect } from '../../runtime/postgres.js';
import { createTestDatabase } from '../support/env.js';

// The notifications read model with the contexts' contributed rules, fed hand-built batches through the runtime's
// PostgreSQL wrapper on a fresh database: marketplace events beside order and preference events, each case stating
// exactly what arrives. The whole pipeline (Kafka, the projector, a rebuild) is notifications-pipeline-marketplace.

let db: Knex;
let drop: () => Promise<void>;
const VERSION = 1;
const projection = () => postgresProjection(db, notificationsReadModel(VERSION, notificationContributions));
const queries = () => new NotificationQueries(db, async () => VERSION);

beforeAll(async () => {
  const database = await createTestDatabase('notifmkt');
  drop = database.drop;
  db = connect(database.url, { max: 4 });
  await ensureRuntimeTables(db);
  await projection().setup();
});
afterAll(async () => {
  await db?.destroy();
  await drop?.();
});

let position = 0;
const base = Date.parse('2026-06-01T12:00:00.000Z');
const event = (streamId: string, streamVersion: number, eventType: string, data: Record<string, unknown>) => {
  position++;
  return {
    eventId: randomUUID(),
    eventType,
    streamId,
    streamVersion,
    globalPosition: position,
    recordedAt: new Date(base + position * 1000).toISOString(),
    correlationId: randomUUID(),
    data,
  } satisfies ProjectedEvent;
};
const at = new Date(base).toISOString();
const source: BatchSource = { topic: 'marketplace.application', partition: 0, lastOffset: '0' };
const apply = (events: readonly ProjectedEvent[]) => projection().applyBatch(events, source);
const listed = async (accountId: string) =>
  (await queries().list(accountId, { limit: 100 })).items.map((n) => [n.channel, n.kind, n.subject.kind, n.subject.id]);

/** One job's cast: a hirer, two workers, two applications; the first one becomes the contract (same id). */
const cast = () => {
  const [hirerId, workerId, otherId] = [`h-${randomUUID()}`, `w-${randomUUID()}`, `w-${randomUUID()}`];
  const jobId = randomUUID();
  const [applicationId, otherApplicationId] = [randomUUID(), randomUUID()];
  const parties = { jobId, hirerId, workerId, applicationId };
  const others = { jobId, hirerId, workerId: otherId, applicationId: otherApplicationId };
  const contract = { contractId: applicationId, hirerId, workerId };
  return { hirerId, workerId, otherId, applicationId, otherApplicationId, parties, others, contract };
};
const submitted = (p: { applicationId: string; jobId: string; hirerId: string; workerId: string }) =>
  event(`application-${p.applicationId}`, 1, 'ApplicationSubmitted', {
    ...p,
    coverLetter: 'I have tiled forty kitchens',
    proposedAmountMinor: 200_000,
    currency: 'EUR',
    submittedAt: at,
  });
const registered = (accountId: string, role: string) =>
  event(`account-${accountId}`, 1, 'AccountRegistered', {
    accountId,
    email: `${accountId}@example.com`,
    role,
    registeredAt: at,
  });
const preferences = (accountId: string, version: number, email: boolean, push: boolean) =>
  event(`account-${accountId}`, version, 'NotificationPreferencesUpdated', { accountId, email, push, updatedAt: at });

describe('marketplace notifications in the notifications read model', () => {
  it('tells the hirer and each worker what concerns them, per the channels they enabled', async () => {
    const c = cast();
    await apply([
      registered(c.otherId, 'worker'),
      preferences(c.otherId, 2, false, true), // the other worker wants push only
      submitted(c.parties),
      submitted(c.others),
      event(`application-${c.applicationId}`, 2, 'ApplicationShortlisted', { ...c.parties, shortlistedAt: at }),
      event(`application-${c.applicationId}`, 3, 'ApplicationAccepted', {
        ...c.parties,
        contractId: c.applicationId,
        acceptedAt: at,
      }),
      event(`application-${c.otherApplicationId}`, 2, 'ApplicationNotSelected', {
        ...c.others,
        contractId: c.applicationId,
        notSelectedAt: at,
      }),
    ]);
    await apply([
      event(`contract-${c.applicationId}`, 1, 'ContractCreated', {
        ...c.contract,
        jobId: c.parties.jobId,
        applicationId: c.applicationId,
        title: 'Kitchen',
        amountMinor: 200_000,
        currency: 'EUR',
        milestones: [],
        createdAt: at,
      }), // tells nobody
      event(`contract-${c.applicationId}`, 2, 'MilestoneSubmitted', {
        ...c.contract,
        milestoneId: 'm1',
        note: '',
        submittedAt: at,
      }),
      event(`contract-${c.applicationId}`, 3, 'MilestoneApproved', {
        ...c.contract,
        milestoneId: 'm1',
        amountMinor: 200_000,
        currency: 'EUR',
        approvedAt: at,
      }),
      event(`contract-${c.applicationId}`, 4, 'ContractCompleted', {
        ...c.contract,
        amountMinor: 200_000,
        currency: 'EUR',
        completedAt: at,
      }), // tells nobody
      event(`contract-${c.applicationId}`, 5, 'ContractReviewed', {
        contractId: c.applicationId,
        reviewerId: c.hirerId,
        revieweeId: c.workerId,
        reviewerSide: 'HIRER',
        rating: 5,
        text: 'great',
        reviewedAt: at,
      }),
      event(`contract-${c.applicationId}`, 6, 'ContractReviewed', {
        contractId: c.applicationId,
        reviewerId: c.workerId,
        revieweeId: c.hirerId,
        reviewerSide: 'WORKER',
        rating: 4,
        text: 'fine',
        reviewedAt: at,
      }),
    ]);

    const application = (id: string) => ['application', id] as const;
    const contract = ['contract', c.applicationId] as const;
    // Newest first; on one event, push before email (notification ids are random-looking: sorted by id).
    const both = (kind: string, subject: readonly [string, string]) =>
      expect.arrayContaining([
        ['email', kind, ...subject],
        ['push', kind, ...subject],
      ]);
    const hirer = await listed(c.hirerId);
    expect(hirer.map(([, kind]) => kind)).toEqual([
      'REVIEW_RECEIVED',
      'REVIEW_RECEIVED',
      'MILESTONE_SUBMITTED',
      'MILESTONE_SUBMITTED',
      'APPLICATION_RECEIVED',
      'APPLICATION_RECEIVED',
      'APPLICATION_RECEIVED',
      'APPLICATION_RECEIVED',
    ]);
    // The hirer kept the defaults: both channels, for each application to their job.
    expect(hirer.slice(4)).toEqual(
      expect.arrayContaining([
        ['email', 'APPLICATION_RECEIVED', ...application(c.applicationId)],
        ['push', 'APPLICATION_RECEIVED', ...application(c.applicationId)],
        ['email', 'APPLICATION_RECEIVED', ...application(c.otherApplicationId)],
        ['push', 'APPLICATION_RECEIVED', ...application(c.otherApplicationId)],
      ]),
    );
    expect(hirer.slice(2, 4)).toEqual(both('MILESTONE_SUBMITTED', contract));

    const worker = await listed(c.workerId);
    expect(worker.map(([, kind]) => kind)).toEqual([
      'REVIEW_RECEIVED',
      'REVIEW_RECEIVED',
      'MILESTONE_APPROVED',
      'MILESTONE_APPROVED',
      'APPLICATION_ACCEPTED',
      'APPLICATION_ACCEPTED',
      'APPLICATION_SHORTLISTED',
      'APPLICATION_SHORTLISTED',
    ]);
    expect(worker.slice(4, 6)).toEqual(both('APPLICATION_ACCEPTED', application(c.applicationId)));

    // Push only: the preferences apply to the marketplace's kinds as to an order's.
    expect(await listed(c.otherId)).toEqual([
      ['push', 'APPLICATION_NOT_SELECTED', ...application(c.otherApplicationId)],
    ]);

    const [first] = (await queries().list(c.workerId, { limit: 1 })).items;
    expect(first).toMatchObject({
      orderId: null,
      title: 'New review',
      body: 'You were reviewed: 5 stars.',
      status: 'pending',
    });
  });

  it('stores an order’s notification beside them, with its order as subject and orderId as before', async () => {
    const customerId = `c-${randomUUID()}`;
    const orderId = randomUUID();
    const c = cast();
    await apply([
      event(`order-${orderId}`, 1, 'OrderPlaced', {
        orderId,
        restaurantId: 'r-1',
        customerId,
        items: [{ menuItemId: 'm-1', name: 'Soup', quantity: 1, unitPriceMinor: 850 }],
        totalMinor: 850,
        currency: 'EUR',
        placedAt: at,
      }),
      submitted({ ...c.parties, hirerId: customerId }), // one account, an order and a job of theirs
    ]);
    const items = (await queries().list(customerId)).items;
    expect(items.map((n) => [n.kind, n.subject, n.orderId])).toEqual([
      ['APPLICATION_RECEIVED', { kind: 'application', id: c.applicationId }, null],
      ['APPLICATION_RECEIVED', { kind: 'application', id: c.applicationId }, null],
      ['ORDER_PLACED', { kind: 'order', id: orderId }, orderId],
      ['ORDER_PLACED', { kind: 'order', id: orderId }, orderId],
    ]);
  });

  it('makes nothing twice: a batch applied again, or its event replayed into the version, adds no row', async () => {
    const c = cast();
    const batch = [submitted(c.parties)];
    await apply(batch);
    await apply(batch); // redelivered: skipped by stream version
    // Replayed past the dedupe (as `replay --to-projection` may): the ids derived from the event collide.
    await db.transaction((trx) => notificationsReadModel(VERSION, notificationContributions).apply(trx, batch));
    expect(await listed(c.hirerId)).toHaveLength(2);
  });

  it('ignores the contributed topics’ events no rule names (a job’s), and events of no contributed type', async () => {
    const c = cast();
    const before = Number((await db(notificationsTables(VERSION).notifications).count({ n: '*' }).first())?.n);
    await apply([
      event(`application-${c.applicationId}`, 1, 'ApplicationWithdrawn', { ...c.parties, withdrawnAt: at }),
      event(`job-${randomUUID()}`, 1, 'SomethingElse', { hirerId: c.hirerId }),
    ]);
    const after = Number((await db(notificationsTables(VERSION).notifications).count({ n: '*' }).first())?.n);
    expect(after).toBe(before);
  });
});

describe('a notifications table made before subjects existed', () => {
  it('is given subject columns in place, keeps its rows as their orders’, and takes marketplace rows', async () => {
    const version = 91;
    const t = notificationsTables(version);
    // The table as version 1 created it before this change.
    await db.raw(`
      CREATE TABLE ${t.notifications} (
        notification_id text PRIMARY KEY, event_id text NOT NULL, account_id text NOT NULL, order_id text NOT NULL,
        channel text NOT NULL, kind text NOT NULL, title text NOT NULL, body text NOT NULL,
        status text NOT NULL DEFAULT 'pending', created_at timestamptz NOT NULL
      )`);
    await db(t.notifications).insert({
      notification_id: 'old-1',
      event_id: 'e-old',
      account_id: 'acc-old',
      order_id: 'o-old',
      channel: 'push',
      kind: 'ORDER_READY',
      title: 'Order ready',
      body: 'Your order is ready for pickup.',
      created_at: at,
    });
    const model = notificationsReadModel(version, notificationContributions);
    await model.createTables(db);
    await model.createTables(db); // a second start finds the columns and alters nothing
    const c = cast();
    await postgresProjection(db, model).applyBatch([submitted({ ...c.parties, hirerId: 'acc-old' })], source);
    const items = (await new NotificationQueries(db, async () => version).list('acc-old')).items;
    expect(items.map((n) => [n.kind, n.subject, n.orderId])).toEqual([
      ['APPLICATION_RECEIVED', { kind: 'application', id: c.applicationId }, null],
      ['APPLICATION_RECEIVED', { kind: 'application', id: c.applicationId }, null],
      ['ORDER_READY', { kind: 'order', id: 'o-old' }, 'o-old'],
    ]);
    await model.dropTables(db);
  });
});
