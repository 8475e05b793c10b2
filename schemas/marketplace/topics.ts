// Which event types travel on which topic (one topic per aggregate type; the topic is also the stream type).
export const marketplaceTopics = {
  'marketplace.profile': ['WorkerProfileUpdated', 'HirerProfileUpdated'],
  'marketplace.job': ['JobPosted', 'JobUpdated', 'JobClosed', 'JobCancelled', 'JobFilled', 'JobReopened'],
  'marketplace.application': [
    'ApplicationSubmitted',
    'ApplicationWithdrawn',
    'ApplicationShortlisted',
    'ApplicationRejected',
    'ApplicationAccepted',
    'ApplicationNotSelected',
  ],
  'marketplace.contract': [
    'ContractCreated',
    'MilestoneSubmitted',
    'MilestoneApproved',
    'MilestoneChangesRequested',
    'ContractCompleted',
    'ContractCancellationRequested',
    'ContractCancelled',
    'ContractReviewed',
    'ReviewHidden',
  ],
} as const;
