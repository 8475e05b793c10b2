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
  | { readonly type: 'ReviewHidden'; readonly data: ReviewHidden };

/** Every event of the marketplace context. */
export type MarketplaceEvent = ProfileEvent | JobEvent | ApplicationEvent | ContractEvent;
