import { aggregateOf } from '../executor.js';
import { applicationDecider } from './application.js';
import { contractDecider } from './contract.js';
import { escrowDecider } from './escrow.js';
import { jobDecider } from './job.js';
import { profileDecider } from './profile.js';
import { walletDecider } from './wallet.js';

// Where each Marketplace aggregate's stream is: the decider folds it, the executor loads and appends to it.

export const profiles = aggregateOf(profileDecider, {
  streamType: 'marketplace.profile',
  streamId: (accountId) => `profile-${accountId}`,
});

export const jobs = aggregateOf(jobDecider, { streamType: 'marketplace.job', streamId: (id) => `job-${id}` });

export const applications = aggregateOf(applicationDecider, {
  streamType: 'marketplace.application',
  streamId: (id) => `application-${id}`,
});

export const contracts = aggregateOf(contractDecider, {
  streamType: 'marketplace.contract',
  streamId: (id) => `contract-${id}`,
});

export const escrows = aggregateOf(escrowDecider, {
  streamType: 'marketplace.escrow',
  streamId: (contractId) => `escrow-${contractId}`,
});

export const wallets = aggregateOf(walletDecider, {
  streamType: 'marketplace.wallet',
  streamId: (workerId) => `wallet-${workerId}`,
});
