// Generated from the .avsc files of this folder by `npm run schemas:types` (schemas/codegen.ts): do not edit by hand.

export interface Location {
  city: string;
  /** ISO 3166-1 alpha-2 */
  country: string;
  /** WGS84 latitude, when the place is pinned */
  lat: number | null;
  /** WGS84 longitude, when the place is pinned */
  lon: number | null;
}

export type Availability = 'AVAILABLE' | 'PART_TIME' | 'UNAVAILABLE';

export interface PortfolioEntry {
  title: string;
  url: string | null;
  description: string;
}

export interface ExperienceEntry {
  title: string;
  organisation: string;
  /** YYYY-MM-DD */
  startDate: string;
  /** YYYY-MM-DD; null while ongoing */
  endDate: string | null;
  description: string;
}

/** A worker set their profile (the whole profile: a later one replaces it). */
export interface WorkerProfileUpdated {
  workerId: string;
  headline: string;
  bio: string;
  /** normalised skill names (schemas/marketplace/vocabulary.ts) */
  skills: string[];
  hourlyRateMinor: number;
  /** ISO 4217 */
  currency: string;
  location: Location;
  availability: Availability;
  portfolio: PortfolioEntry[];
  experience: ExperienceEntry[];
  updatedAt: string;
}

/** A hirer set their profile. */
export interface HirerProfileUpdated {
  hirerId: string;
  companyName: string;
  location: Location;
  updatedAt: string;
}

export type BudgetKind = 'FIXED' | 'HOURLY';

export interface Budget {
  kind: BudgetKind;
  /** lowest amount in minor units (per hour when HOURLY) */
  minMinor: number;
  /** highest amount in minor units (per hour when HOURLY) */
  maxMinor: number;
  /** ISO 4217 */
  currency: string;
}

/** A hirer posted a job; it is open to applications. */
export interface JobPosted {
  jobId: string;
  hirerId: string;
  title: string;
  description: string;
  /** normalised skill names (schemas/marketplace/vocabulary.ts) */
  skills: string[];
  budget: Budget;
  /** calendar day YYYY-MM-DD by which the work is due */
  deadline: string;
  remote: boolean;
  /** where the work is; null for remote-only */
  location: Location | null;
  postedAt: string;
}

/** An open job was edited (its whole description: a later one replaces it). */
export interface JobUpdated {
  jobId: string;
  title: string;
  description: string;
  /** normalised skill names (schemas/marketplace/vocabulary.ts) */
  skills: string[];
  budget: Budget;
  /** calendar day YYYY-MM-DD by which the work is due */
  deadline: string;
  remote: boolean;
  /** where the work is; null for remote-only */
  location: Location | null;
  updatedAt: string;
}

/** The hirer stopped taking applications; they may still accept one already received. */
export interface JobClosed {
  jobId: string;
  closedAt: string;
}

/** The hirer withdrew the job; no contract will come of it. */
export interface JobCancelled {
  jobId: string;
  reason: string;
  cancelledAt: string;
}

export interface Milestone {
  milestoneId: string;
  title: string;
  amountMinor: number;
  /** calendar day YYYY-MM-DD */
  dueDate: string;
}

/** The hirer accepted an application: the contract with these terms is being made. */
export interface JobFilled {
  jobId: string;
  hirerId: string;
  applicationId: string;
  workerId: string;
  contractId: string;
  amountMinor: number;
  currency: string;
  milestones: Milestone[];
  filledAt: string;
}

/** The accepted application could no longer be accepted (withdrawn meanwhile): the job takes applications again. */
export interface JobReopened {
  jobId: string;
  applicationId: string;
  reason: string;
  reopenedAt: string;
}

/** A worker applied to a job. */
export interface ApplicationSubmitted {
  applicationId: string;
  jobId: string;
  hirerId: string;
  workerId: string;
  coverLetter: string;
  proposedAmountMinor: number;
  currency: string;
  submittedAt: string;
}

/** The worker withdrew their application. */
export interface ApplicationWithdrawn {
  applicationId: string;
  jobId: string;
  hirerId: string;
  workerId: string;
  withdrawnAt: string;
}

/** The hirer shortlisted the application. */
export interface ApplicationShortlisted {
  applicationId: string;
  jobId: string;
  hirerId: string;
  workerId: string;
  shortlistedAt: string;
}

/** The hirer rejected the application. */
export interface ApplicationRejected {
  applicationId: string;
  jobId: string;
  hirerId: string;
  workerId: string;
  reason: string;
  rejectedAt: string;
}

/** The hirer accepted the application; the contract follows. */
export interface ApplicationAccepted {
  applicationId: string;
  jobId: string;
  hirerId: string;
  workerId: string;
  contractId: string;
  acceptedAt: string;
}

/** Another application to the job was accepted. */
export interface ApplicationNotSelected {
  applicationId: string;
  jobId: string;
  hirerId: string;
  workerId: string;
  contractId: string;
  notSelectedAt: string;
}

/** A contract was made from an accepted application; its milestones sum to its amount. */
export interface ContractCreated {
  contractId: string;
  jobId: string;
  applicationId: string;
  hirerId: string;
  workerId: string;
  title: string;
  amountMinor: number;
  /** ISO 4217 */
  currency: string;
  milestones: Milestone[];
  createdAt: string;
}

/** The worker submitted a milestone for approval. */
export interface MilestoneSubmitted {
  contractId: string;
  milestoneId: string;
  hirerId: string;
  workerId: string;
  note: string;
  submittedAt: string;
}

/** The hirer approved a submitted milestone: its amount is earned. */
export interface MilestoneApproved {
  contractId: string;
  milestoneId: string;
  hirerId: string;
  workerId: string;
  amountMinor: number;
  currency: string;
  approvedAt: string;
}

/** The hirer asked for changes to a submitted milestone. */
export interface MilestoneChangesRequested {
  contractId: string;
  milestoneId: string;
  hirerId: string;
  workerId: string;
  reason: string;
  requestedAt: string;
}

/** Every milestone was approved. */
export interface ContractCompleted {
  contractId: string;
  hirerId: string;
  workerId: string;
  amountMinor: number;
  currency: string;
  completedAt: string;
}

/** One party asked to cancel after work was delivered; the other party must agree. */
export interface ContractCancellationRequested {
  contractId: string;
  hirerId: string;
  workerId: string;
  requestedBy: string;
  reason: string;
  requestedAt: string;
}

/** The contract ended without completing: approved milestones stay earned, the rest is not owed. */
export interface ContractCancelled {
  contractId: string;
  hirerId: string;
  workerId: string;
  cancelledBy: string;
  reason: string;
  /** sum of approved milestones: owed to the worker */
  approvedMinor: number;
  /** the rest of the contract amount: returned to the hirer */
  unapprovedMinor: number;
  currency: string;
  cancelledAt: string;
}

export type ReviewSide = 'HIRER' | 'WORKER';

/** One party reviewed the other after completion. */
export interface ContractReviewed {
  contractId: string;
  reviewerId: string;
  revieweeId: string;
  reviewerSide: ReviewSide;
  /** 1-5 stars */
  rating: number;
  text: string;
  reviewedAt: string;
}

/** An admin hid a review (moderation); the review event stays in the log. */
export interface ReviewHidden {
  contractId: string;
  reviewerSide: ReviewSide;
  revieweeId: string;
  hiddenBy: string;
  reason: string;
  hiddenAt: string;
}

/** The contract's escrow is funded: work may begin. */
export interface ContractStarted {
  contractId: string;
  hirerId: string;
  workerId: string;
  amountMinor: number;
  currency: string;
  startedAt: string;
}

/** The contract was never funded (declined, or the funding deadline passed): it ends before any work. */
export interface ContractNotStarted {
  contractId: string;
  hirerId: string;
  workerId: string;
  reason: string;
  endedAt: string;
}

export interface EscrowMilestone {
  milestoneId: string;
  amountMinor: number;
}

/** The escrow of a new contract: what must be funded, and the platform fee fixed for its life. */
export interface EscrowOpened {
  contractId: string;
  hirerId: string;
  workerId: string;
  amountMinor: number;
  currency: string;
  /** platform fee in basis points of each release */
  feeBps: number;
  milestones: EscrowMilestone[];
  fundBy: string;
  openedAt: string;
}

/** The hirer asked to fund the whole contract with a payment method (a provider token, never a card number). */
export interface EscrowFundingRequested {
  contractId: string;
  /** 1 for the first request, counting retries after a decline */
  attempt: number;
  paymentMethod: string;
  requestedBy: string;
  requestedAt: string;
}

/** The provider captured the contract amount on the platform: every milestone is HELD. */
export interface EscrowFunded {
  contractId: string;
  attempt: number;
  /** the provider's captured charge (PaymentIntent) */
  chargeRef: string;
  amountMinor: number;
  currency: string;
  fundedAt: string;
}

/** The provider declined the hirer's payment method; the hirer may fund again until the deadline. */
export interface EscrowFundingDeclined {
  contractId: string;
  attempt: number;
  reason: string;
  declinedAt: string;
}

/** A milestone's money is being released to the worker (recorded before the transfer: no refund or dispute can take it now). */
export interface MilestoneReleasing {
  contractId: string;
  milestoneId: string;
  releaseId: string;
  grossMinor: number;
  feeMinor: number;
  netMinor: number;
  startedAt: string;
}

/** The milestone's net amount was transferred to the worker's connected account; the fee stays with the platform. */
export interface MilestoneReleased {
  contractId: string;
  milestoneId: string;
  releaseId: string;
  workerId: string;
  grossMinor: number;
  feeMinor: number;
  netMinor: number;
  currency: string;
  transferRef: string;
  releasedAt: string;
}

/** A party disputed a milestone: its money is frozen (no release, no refund) until an admin resolves it. */
export interface DisputeOpened {
  contractId: string;
  milestoneId: string;
  openedBy: string;
  reason: string;
  heldMinor: number;
  openedAt: string;
}

/** A note for the admin who will resolve the dispute. */
export interface DisputeEvidenceAdded {
  contractId: string;
  milestoneId: string;
  addedBy: string;
  note: string;
  addedAt: string;
}

/** An admin split a disputed milestone's held amount: workerMinor + hirerRefundMinor = held. */
export interface DisputeResolved {
  contractId: string;
  milestoneId: string;
  resolvedBy: string;
  workerMinor: number;
  hirerRefundMinor: number;
  /** the platform fee on the worker's part */
  feeMinor: number;
  note: string;
  resolvedAt: string;
}

/** The resolution's money moved: the worker's part (less the fee) transferred, the hirer's refunded. */
export interface DisputeSettled {
  contractId: string;
  milestoneId: string;
  workerId: string;
  workerNetMinor: number;
  feeMinor: number;
  hirerRefundMinor: number;
  currency: string;
  transferRef: string | null;
  refundRef: string | null;
  settledAt: string;
}

/** Held milestones are being refunded to the hirer (recorded before the refund: no release or dispute can take them now). */
export interface EscrowRefunding {
  contractId: string;
  refundId: string;
  milestoneIds: string[];
  amountMinor: number;
  reason: string;
  startedAt: string;
}

/** The provider refunded the amount to the hirer. */
export interface EscrowRefunded {
  contractId: string;
  refundId: string;
  hirerId: string;
  milestoneIds: string[];
  amountMinor: number;
  currency: string;
  refundRef: string;
  refundedAt: string;
}

/** A worker's wallet, backed by a connected account at the provider that receives their releases. */
export interface WalletOpened {
  workerId: string;
  accountRef: string;
  currency: string;
  openedAt: string;
}

/** Released money reached the worker's wallet (their connected account's balance). */
export interface WalletCredited {
  workerId: string;
  contractId: string;
  milestoneId: string;
  /** the release or dispute that paid it: one credit per source */
  sourceId: string;
  amountMinor: number;
  currency: string;
  creditedAt: string;
}

/** The worker asked to pay out part of the available balance to their bank (one payout at a time). */
export interface PayoutRequested {
  workerId: string;
  payoutId: string;
  amountMinor: number;
  currency: string;
  requestedAt: string;
}

/** The provider accepted the payout; it is paid or fails later (provider webhook). */
export interface PayoutSent {
  workerId: string;
  payoutId: string;
  payoutRef: string;
  amountMinor: number;
  sentAt: string;
}

/** The bank received the payout. */
export interface PayoutPaid {
  workerId: string;
  payoutId: string;
  payoutRef: string;
  amountMinor: number;
  paidAt: string;
}

/** The payout failed: its amount is available again. */
export interface PayoutFailed {
  workerId: string;
  payoutId: string;
  amountMinor: number;
  reason: string;
  failedAt: string;
}

/** Every event type of the marketplace context, by name. */
export interface MarketplaceEventMap {
  WorkerProfileUpdated: WorkerProfileUpdated;
  HirerProfileUpdated: HirerProfileUpdated;
  JobPosted: JobPosted;
  JobUpdated: JobUpdated;
  JobClosed: JobClosed;
  JobCancelled: JobCancelled;
  JobFilled: JobFilled;
  JobReopened: JobReopened;
  ApplicationSubmitted: ApplicationSubmitted;
  ApplicationWithdrawn: ApplicationWithdrawn;
  ApplicationShortlisted: ApplicationShortlisted;
  ApplicationRejected: ApplicationRejected;
  ApplicationAccepted: ApplicationAccepted;
  ApplicationNotSelected: ApplicationNotSelected;
  ContractCreated: ContractCreated;
  MilestoneSubmitted: MilestoneSubmitted;
  MilestoneApproved: MilestoneApproved;
  MilestoneChangesRequested: MilestoneChangesRequested;
  ContractCompleted: ContractCompleted;
  ContractCancellationRequested: ContractCancellationRequested;
  ContractCancelled: ContractCancelled;
  ContractReviewed: ContractReviewed;
  ReviewHidden: ReviewHidden;
  ContractStarted: ContractStarted;
  ContractNotStarted: ContractNotStarted;
  EscrowOpened: EscrowOpened;
  EscrowFundingRequested: EscrowFundingRequested;
  EscrowFunded: EscrowFunded;
  EscrowFundingDeclined: EscrowFundingDeclined;
  MilestoneReleasing: MilestoneReleasing;
  MilestoneReleased: MilestoneReleased;
  DisputeOpened: DisputeOpened;
  DisputeEvidenceAdded: DisputeEvidenceAdded;
  DisputeResolved: DisputeResolved;
  DisputeSettled: DisputeSettled;
  EscrowRefunding: EscrowRefunding;
  EscrowRefunded: EscrowRefunded;
  WalletOpened: WalletOpened;
  WalletCredited: WalletCredited;
  PayoutRequested: PayoutRequested;
  PayoutSent: PayoutSent;
  PayoutPaid: PayoutPaid;
  PayoutFailed: PayoutFailed;
}

/** The events on topic marketplace.profile. */
export type ProfileEvent =
  | { readonly type: 'WorkerProfileUpdated'; readonly data: WorkerProfileUpdated }
  | { readonly type: 'HirerProfileUpdated'; readonly data: HirerProfileUpdated };

/** The events on topic marketplace.job. */
export type JobEvent =
  | { readonly type: 'JobPosted'; readonly data: JobPosted }
  | { readonly type: 'JobUpdated'; readonly data: JobUpdated }
  | { readonly type: 'JobClosed'; readonly data: JobClosed }
  | { readonly type: 'JobCancelled'; readonly data: JobCancelled }
  | { readonly type: 'JobFilled'; readonly data: JobFilled }
  | { readonly type: 'JobReopened'; readonly data: JobReopened };

/** The events on topic marketplace.application. */
export type ApplicationEvent =
  | { readonly type: 'ApplicationSubmitted'; readonly data: ApplicationSubmitted }
  | { readonly type: 'ApplicationWithdrawn'; readonly data: ApplicationWithdrawn }
  | { readonly type: 'ApplicationShortlisted'; readonly data: ApplicationShortlisted }
  | { readonly type: 'ApplicationRejected'; readonly data: ApplicationRejected }
  | { readonly type: 'ApplicationAccepted'; readonly data: ApplicationAccepted }
  | { readonly type: 'ApplicationNotSelected'; readonly data: ApplicationNotSelected };

/** The events on topic marketplace.contract. */
export type ContractEvent =
  | { readonly type: 'ContractCreated'; readonly data: ContractCreated }
  | { readonly type: 'MilestoneSubmitted'; readonly data: MilestoneSubmitted }
  | { readonly type: 'MilestoneApproved'; readonly data: MilestoneApproved }
  | { readonly type: 'MilestoneChangesRequested'; readonly data: MilestoneChangesRequested }
  | { readonly type: 'ContractCompleted'; readonly data: ContractCompleted }
  | { readonly type: 'ContractCancellationRequested'; readonly data: ContractCancellationRequested }
  | { readonly type: 'ContractCancelled'; readonly data: ContractCancelled }
  | { readonly type: 'ContractReviewed'; readonly data: ContractReviewed }
  | { readonly type: 'ReviewHidden'; readonly data: ReviewHidden }
  | { readonly type: 'ContractStarted'; readonly data: ContractStarted }
  | { readonly type: 'ContractNotStarted'; readonly data: ContractNotStarted };

/** The events on topic marketplace.escrow. */
export type EscrowEvent =
  | { readonly type: 'EscrowOpened'; readonly data: EscrowOpened }
  | { readonly type: 'EscrowFundingRequested'; readonly data: EscrowFundingRequested }
  | { readonly type: 'EscrowFunded'; readonly data: EscrowFunded }
  | { readonly type: 'EscrowFundingDeclined'; readonly data: EscrowFundingDeclined }
  | { readonly type: 'MilestoneReleasing'; readonly data: MilestoneReleasing }
  | { readonly type: 'MilestoneReleased'; readonly data: MilestoneReleased }
  | { readonly type: 'DisputeOpened'; readonly data: DisputeOpened }
  | { readonly type: 'DisputeEvidenceAdded'; readonly data: DisputeEvidenceAdded }
  | { readonly type: 'DisputeResolved'; readonly data: DisputeResolved }
  | { readonly type: 'DisputeSettled'; readonly data: DisputeSettled }
  | { readonly type: 'EscrowRefunding'; readonly data: EscrowRefunding }
  | { readonly type: 'EscrowRefunded'; readonly data: EscrowRefunded };

/** The events on topic marketplace.wallet. */
export type WalletEvent =
  | { readonly type: 'WalletOpened'; readonly data: WalletOpened }
  | { readonly type: 'WalletCredited'; readonly data: WalletCredited }
  | { readonly type: 'PayoutRequested'; readonly data: PayoutRequested }
  | { readonly type: 'PayoutSent'; readonly data: PayoutSent }
  | { readonly type: 'PayoutPaid'; readonly data: PayoutPaid }
  | { readonly type: 'PayoutFailed'; readonly data: PayoutFailed };

/** Every event of the marketplace context. */
export type MarketplaceEvent = ProfileEvent | JobEvent | ApplicationEvent | ContractEvent | EscrowEvent | WalletEvent;
