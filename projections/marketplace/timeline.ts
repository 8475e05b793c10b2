import type { ProjectedEvent } from '../../runtime/consumer/types.js';
import type { ApplicationEvent, ContractEvent, JobEvent } from '../../schemas/marketplace/events.js';

// Pure: the line a contract event adds to the contract's timeline (what the parties see on the contract detail).
// Moderation (ReviewHidden) is not on it: the parties see the review gone, not who hid it.

export interface TimelineEntry {
  readonly contract_id: string;
  readonly event_type: string;
  readonly milestone_id: string | null;
  readonly actor_id: string | null;
  readonly detail: string;
}

/** The timeline line of an event, or null for events that are not on a contract's timeline. */
export function timelineEntryOf(
  event: ProjectedEvent<JobEvent | ApplicationEvent | ContractEvent>,
): TimelineEntry | null {
  const line = (contractId: string, actorId: string | null, detail: string, milestoneId: string | null = null) => ({
    contract_id: contractId,
    event_type: event.eventType,
    milestone_id: milestoneId,
    actor_id: actorId,
    detail,
  });
  switch (event.eventType) {
    case 'ContractCreated':
      return line(event.data.contractId, event.data.hirerId, `made with ${event.data.milestones.length} milestones`);
    case 'ContractStarted':
      return line(event.data.contractId, null, 'funded: the escrow holds the contract amount');
    case 'ContractNotStarted':
      return line(event.data.contractId, null, event.data.reason);
    case 'MilestoneSubmitted':
      return line(event.data.contractId, event.data.workerId, event.data.note, event.data.milestoneId);
    case 'MilestoneApproved':
      return line(event.data.contractId, event.data.hirerId, 'approved', event.data.milestoneId);
    case 'MilestoneChangesRequested':
      return line(event.data.contractId, event.data.hirerId, event.data.reason, event.data.milestoneId);
    case 'ContractCompleted':
      return line(event.data.contractId, null, 'every milestone approved');
    case 'ContractCancellationRequested':
      return line(event.data.contractId, event.data.requestedBy, event.data.reason);
    case 'ContractCancelled':
      return line(event.data.contractId, event.data.cancelledBy, event.data.reason);
    case 'ContractReviewed':
      return line(event.data.contractId, event.data.reviewerId, `reviewed: ${event.data.rating} stars`);
    default:
      return null;
  }
}
