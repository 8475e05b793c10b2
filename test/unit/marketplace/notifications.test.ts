import { describe, expect, it } from 'vitest';
import { marketplaceNotificationsFor } from '../../../projections/marketplace/notifications.js';

const at = '2026-06-01T12:00:00.000Z';
const parties = { applicationId: 'a-1', jobId: 'j-1', hirerId: 'h-1', workerId: 'w-1' };

describe('marketplace notifications', () => {
  it('tells the hirer an application arrived, with the proposal', () => {
    const [n, ...rest] = marketplaceNotificationsFor({
      eventType: 'ApplicationSubmitted',
      data: { ...parties, coverLetter: '', proposedAmountMinor: 250_000, currency: 'EUR', submittedAt: at },
    });
    expect(rest).toEqual([]);
    expect(n).toMatchObject({
      recipientId: 'h-1',
      kind: 'APPLICATION_RECEIVED',
      subject: { kind: 'application', id: 'a-1' },
    });
    expect(n!.body).toContain('€2,500.00');
  });

  it('tells the worker about shortlisting, acceptance and not being selected', () => {
    const kinds = [
      marketplaceNotificationsFor({ eventType: 'ApplicationShortlisted', data: { ...parties, shortlistedAt: at } }),
      marketplaceNotificationsFor({
        eventType: 'ApplicationAccepted',
        data: { ...parties, contractId: 'a-1', acceptedAt: at },
      }),
      marketplaceNotificationsFor({
        eventType: 'ApplicationNotSelected',
        data: { ...parties, contractId: 'c', notSelectedAt: at },
      }),
    ].map(([n]) => [n!.recipientId, n!.kind]);
    expect(kinds).toEqual([
      ['w-1', 'APPLICATION_SHORTLISTED'],
      ['w-1', 'APPLICATION_ACCEPTED'],
      ['w-1', 'APPLICATION_NOT_SELECTED'],
    ]);
  });

  it('tells the hirer a milestone was submitted, the worker it was approved, the reviewee a review came', () => {
    const contract = { contractId: 'c-1', milestoneId: 'm1', hirerId: 'h-1', workerId: 'w-1' };
    expect(
      marketplaceNotificationsFor({
        eventType: 'MilestoneSubmitted',
        data: { ...contract, note: '', submittedAt: at },
      })[0],
    ).toMatchObject({ recipientId: 'h-1', kind: 'MILESTONE_SUBMITTED' });
    expect(
      marketplaceNotificationsFor({
        eventType: 'MilestoneApproved',
        data: { ...contract, amountMinor: 5000, currency: 'EUR', approvedAt: at },
      })[0],
    ).toMatchObject({ recipientId: 'w-1', kind: 'MILESTONE_APPROVED' });
    expect(
      marketplaceNotificationsFor({
        eventType: 'ContractReviewed',
        data: {
          contractId: 'c-1',
          reviewerId: 'h-1',
          revieweeId: 'w-1',
          reviewerSide: 'HIRER',
          rating: 1,
          text: '',
          reviewedAt: at,
        },
      })[0],
    ).toMatchObject({ recipientId: 'w-1', kind: 'REVIEW_RECEIVED', body: 'You were reviewed: 1 star.' });
  });

  it('tells nobody about a withdrawal or a moderation', () => {
    expect(
      marketplaceNotificationsFor({ eventType: 'ApplicationWithdrawn', data: { ...parties, withdrawnAt: at } }),
    ).toEqual([]);
  });
});
