import type { EventShape } from '../../runtime/consumer/types.js';
import type { ApplicationEvent, ContractEvent } from '../../schemas/marketplace/events.js';
import { marketplaceTopics } from '../../schemas/marketplace/topics.js';
import { type NotificationDraft, type NotificationRules, notificationRules } from '../context.js';
// The notifications' shared wording of amounts (the read model that stores these rows is identity's).
import { formatMoney } from '../identity/notification-messages.js';

// What the marketplace tells its users (issue 15), as pure functions: which application and contract events
// notify whom, with which words. Unlike an order's events, each of these names its recipients (the parties are on
// every event), so a rule needs no state: event in, notifications out. `marketplaceNotifications` hands them to
// the notifications read model (identity's), which stores one row per enabled channel of the recipient.

export const MARKETPLACE_NOTIFICATION_KINDS = [
  'APPLICATION_RECEIVED',
  'APPLICATION_SHORTLISTED',
  'APPLICATION_ACCEPTED',
  'APPLICATION_NOT_SELECTED',
  'MILESTONE_SUBMITTED',
  'MILESTONE_APPROVED',
  'REVIEW_RECEIVED',
] as const;
export type MarketplaceNotificationKind = (typeof MARKETPLACE_NOTIFICATION_KINDS)[number];

export interface MarketplaceNotification extends NotificationDraft {
  /** What it is about: an application or a contract. */
  readonly subject: { readonly kind: 'application' | 'contract'; readonly id: string };
  readonly kind: MarketplaceNotificationKind;
}

type Bodies<E extends EventShape> = E extends EventShape
  ? { readonly eventType: E['type']; readonly data: E['data'] }
  : never;
export type MarketplaceNotificationSource = Bodies<ApplicationEvent | ContractEvent>;

const stars = (n: number): string => `${n} star${n === 1 ? '' : 's'}`;

/** The notifications one event makes (none for the events nobody is told about). */
export function marketplaceNotificationsFor(event: MarketplaceNotificationSource): MarketplaceNotification[] {
  switch (event.eventType) {
    case 'ApplicationSubmitted': {
      const d = event.data;
      return [
        {
          recipientId: d.hirerId,
          subject: { kind: 'application', id: d.applicationId },
          kind: 'APPLICATION_RECEIVED',
          title: 'New application',
          body: `A worker applied to your job, proposing ${formatMoney(d.proposedAmountMinor, d.currency)}.`,
        },
      ];
    }
    case 'ApplicationShortlisted':
      return [
        {
          recipientId: event.data.workerId,
          subject: { kind: 'application', id: event.data.applicationId },
          kind: 'APPLICATION_SHORTLISTED',
          title: 'You are on the shortlist',
          body: 'The hirer shortlisted your application.',
        },
      ];
    case 'ApplicationAccepted':
      return [
        {
          recipientId: event.data.workerId,
          subject: { kind: 'application', id: event.data.applicationId },
          kind: 'APPLICATION_ACCEPTED',
          title: 'Application accepted',
          body: 'The hirer accepted your application; your contract is being made.',
        },
      ];
    case 'ApplicationNotSelected':
      return [
        {
          recipientId: event.data.workerId,
          subject: { kind: 'application', id: event.data.applicationId },
          kind: 'APPLICATION_NOT_SELECTED',
          title: 'Not selected',
          body: 'The hirer chose another application for this job.',
        },
      ];
    case 'MilestoneSubmitted':
      return [
        {
          recipientId: event.data.hirerId,
          subject: { kind: 'contract', id: event.data.contractId },
          kind: 'MILESTONE_SUBMITTED',
          title: 'Milestone ready for review',
          body: `The worker submitted milestone ${event.data.milestoneId} for your approval.`,
        },
      ];
    case 'MilestoneApproved':
      return [
        {
          recipientId: event.data.workerId,
          subject: { kind: 'contract', id: event.data.contractId },
          kind: 'MILESTONE_APPROVED',
          title: 'Milestone approved',
          body: `The hirer approved milestone ${event.data.milestoneId} (${formatMoney(event.data.amountMinor, event.data.currency)}).`,
        },
      ];
    case 'ContractReviewed':
      return [
        {
          recipientId: event.data.revieweeId,
          subject: { kind: 'contract', id: event.data.contractId },
          kind: 'REVIEW_RECEIVED',
          title: 'New review',
          body: `You were reviewed: ${stars(event.data.rating)}.`,
        },
      ];
    default:
      return [];
  }
}

/** The topics whose events notify: an application's and a contract's parties. */
const NOTIFYING_TOPICS = ['marketplace.application', 'marketplace.contract'] as const;

/** The marketplace's contribution to the notifications read model (`ProjectionContext.notifications`). */
export const marketplaceNotifications: NotificationRules = notificationRules<ApplicationEvent | ContractEvent>({
  topics: NOTIFYING_TOPICS,
  eventTypes: NOTIFYING_TOPICS.flatMap((topic) => marketplaceTopics[topic]),
  kinds: MARKETPLACE_NOTIFICATION_KINDS,
  notificationsFor: marketplaceNotificationsFor,
});
