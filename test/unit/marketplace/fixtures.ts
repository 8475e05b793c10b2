import { fold } from '../../../commands/decider.js';
import { type Job, type JobDetails, jobDecider } from '../../../commands/marketplace/job.js';
import type { ContractEvent } from '../../../schemas/marketplace/events.js';

export const NOW = new Date('2026-06-01T12:00:00.000Z');
export const at = (iso: string) => ({ now: new Date(iso) });
export const HIRER = 'hirer-1';
export const WORKER = 'worker-1';
export const JOB_ID = 'job-1';
export const CONTRACT_ID = 'contract-1';

export const jobDetails = (overrides: Partial<JobDetails> = {}): JobDetails => ({
  title: 'Kitchen renovation',
  description: 'Tiles and plumbing for a small kitchen',
  skills: ['tiling', 'plumbing'],
  budget: { kind: 'FIXED', minMinor: 100_000, maxMinor: 300_000, currency: 'EUR' },
  deadline: '2026-07-01',
  remote: false,
  location: { city: 'Lisbon', country: 'PT', lat: 38.72, lon: -9.14 },
  ...overrides,
});

export const postedJob = (details = jobDetails()): Job =>
  fold(
    jobDecider,
    jobDecider.decide(
      { type: 'PostJob', data: { jobId: JOB_ID, hirerId: HIRER, details } },
      jobDecider.initialState(),
      {
        now: NOW,
      },
    ),
  );

export const milestones = [
  { milestoneId: 'm1', title: 'Demolition', amountMinor: 50_000, dueDate: '2026-06-10' },
  { milestoneId: 'm2', title: 'Plumbing', amountMinor: 70_000, dueDate: '2026-06-20' },
  { milestoneId: 'm3', title: 'Tiles', amountMinor: 80_000, dueDate: '2026-06-30' },
];

export const contractCreated: ContractEvent = {
  type: 'ContractCreated',
  data: {
    contractId: CONTRACT_ID,
    jobId: JOB_ID,
    applicationId: 'app-1',
    hirerId: HIRER,
    workerId: WORKER,
    title: 'Kitchen renovation',
    amountMinor: 200_000,
    currency: 'EUR',
    milestones,
    createdAt: NOW.toISOString(),
  },
};
