import { describe, expect, it } from 'vitest';
import type { NotificationRules } from '../../../projections/context.js';
import { allProjections, findProjection, notificationContributions } from '../../../projections/contexts.js';
import { NOTIFICATION_KINDS } from '../../../projections/identity/notification-messages.js';
import { NOTIFICATIONS_PROJECTION, notificationsReadModel } from '../../../projections/identity/notifications.js';
import { marketplaceNotifications } from '../../../projections/marketplace/notifications.js';
import type { ProjectedEvent } from '../../../runtime/consumer/types.js';
import { marketplaceTopics } from '../../../schemas/marketplace/topics.js';

// How the contexts' notification rules reach identity's notifications read model: collected by
// projections/contexts.ts, consumed as topics by the projector, the rebuild and read-your-writes.

const notifications = () => allProjections.find((p) => p.name === NOTIFICATIONS_PROJECTION)!;

const envelope = (eventType: string, data: Record<string, unknown>): ProjectedEvent => ({
  eventId: 'e-1',
  eventType,
  streamId: 'application-a-1',
  streamVersion: 1,
  globalPosition: 1,
  recordedAt: '2026-06-01T12:00:00.000Z',
  correlationId: 'c-1',
  data,
});

describe('notification contributions', () => {
  it('collects the marketplace rules from its projections index', () => {
    expect(notificationContributions).toContain(marketplaceNotifications);
  });

  it('has the projector and the rebuild consume the contributed topics beside identity and ordering', async () => {
    const expected = ['identity.account', 'ordering.order', 'marketplace.application', 'marketplace.contract'];
    expect([...notifications().topics].sort()).toEqual([...expected].sort());
    expect([...findProjection(NOTIFICATIONS_PROJECTION)!.topics].sort()).toEqual([...expected].sort());
    const entry = notifications();
    if (entry.kind !== 'postgres') throw new Error('the notifications read model is a PostgreSQL one');
    // A rebuild's version (any N) is made with the same rules as the live one.
    const rebuilt = await entry.model(7, undefined as never);
    expect([...rebuilt.topics].sort()).toEqual([...expected].sort());
  });

  it('gives every kind to one context only, none of them an order kind', () => {
    const kinds = notificationContributions.flatMap((r) => r.kinds);
    expect(new Set(kinds).size).toBe(kinds.length);
    expect(kinds.filter((k) => (NOTIFICATION_KINDS as readonly string[]).includes(k))).toEqual([]);
    expect(kinds).toEqual(expect.arrayContaining(['APPLICATION_RECEIVED', 'MILESTONE_APPROVED', 'REVIEW_RECEIVED']));
  });

  it('routes only the event types of the contributed topics', () => {
    const onTopics = marketplaceNotifications.topics.flatMap(
      (t) => marketplaceTopics[t as keyof typeof marketplaceTopics] as readonly string[],
    );
    expect([...marketplaceNotifications.eventTypes].sort()).toEqual([...onTopics].sort());
    expect(marketplaceNotifications.eventTypes).not.toContain('JobPosted');
  });

  it('hands a projected event, envelope and all, to the typed rule', () => {
    const drafts = marketplaceNotifications.notificationsFor(
      envelope('ApplicationShortlisted', {
        applicationId: 'a-1',
        jobId: 'j-1',
        hirerId: 'h-1',
        workerId: 'w-1',
        shortlistedAt: '2026-06-01T12:00:00.000Z',
      }),
    );
    expect(drafts).toEqual([
      expect.objectContaining({
        recipientId: 'w-1',
        subject: { kind: 'application', id: 'a-1' },
        kind: 'APPLICATION_SHORTLISTED',
      }),
    ]);
  });

  it('refuses an event type claimed twice, or an order event type claimed by a contribution', () => {
    const claiming = (eventTypes: string[]): NotificationRules => ({
      topics: ['other.thing'],
      eventTypes,
      kinds: ['THING'],
      notificationsFor: () => [],
    });
    expect(() => notificationsReadModel(1, [claiming(['ThingHappened']), claiming(['ThingHappened'])])).toThrow(
      /ThingHappened/,
    );
    expect(() => notificationsReadModel(1, [claiming(['OrderPlaced'])])).toThrow(/OrderPlaced/);
  });

  it('keeps the read model without contributions as it was: identity and orders only', () => {
    expect(notificationsReadModel(1).topics).toEqual(['identity.account', 'ordering.order']);
  });
});
