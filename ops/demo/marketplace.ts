import type { CommandContext } from '../../commands/executor.js';
import { DomainError } from '../../runtime/errors.js';
import type { DemoData } from './context.js';

// Demo data for the quick start: a hirer with two open jobs, two workers with profiles, one application. Fixed
// ids; a second run appends nothing (profiles unchanged are no-ops, a job or application that exists is left as
// it is). Deadlines are a month from the first run, so they are never in the past when posted.

const as = (actor: string, role: 'hirer' | 'worker'): CommandContext => ({
  actor,
  role,
  correlationId: `demo-marketplace-${actor}`,
});
const inDays = (days: number): string => new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);
const lisbon = { city: 'Lisbon', country: 'PT', lat: 38.7223, lon: -9.1393 };
const porto = { city: 'Porto', country: 'PT', lat: 41.1579, lon: -8.6291 };

/** Runs a command whose "already there" refusal means a previous run made it. */
async function once(made: () => Promise<unknown>, existing: string): Promise<number> {
  try {
    await made();
    return 1;
  } catch (error) {
    if (error instanceof DomainError && error.code === existing) return 0;
    throw error;
  }
}

const workers = [
  {
    id: 'demo-worker-ana',
    headline: 'Tiler and bathroom fitter',
    skills: ['tiling', 'plumbing', 'bathrooms'],
    hourlyRateMinor: 3500,
    location: lisbon,
  },
  {
    id: 'demo-worker-rui',
    headline: 'Electrician, small renovations',
    skills: ['electrical', 'lighting'],
    hourlyRateMinor: 4200,
    location: porto,
  },
];

async function load({ marketplace }: Parameters<DemoData['load']>[0]): Promise<Record<string, number>> {
  await marketplace.setHirerProfile({ companyName: 'Casa Nova Lda', location: lisbon }, as('demo-hirer', 'hirer'));
  for (const w of workers) {
    await marketplace.setWorkerProfile(
      {
        headline: w.headline,
        bio: `${w.headline}, fifteen years in the trade.`,
        skills: w.skills,
        hourlyRateMinor: w.hourlyRateMinor,
        currency: 'EUR',
        location: w.location,
        availability: 'AVAILABLE',
        portfolio: [],
        experience: [],
      },
      as(w.id, 'worker'),
    );
  }
  const job = (jobId: string, title: string, skills: string[], maxMinor: number) =>
    once(
      () =>
        marketplace.postJob(
          {
            jobId,
            title,
            description: `${title}: materials supplied, weekdays only.`,
            skills,
            budget: { kind: 'FIXED', minMinor: Math.round(maxMinor / 2), maxMinor, currency: 'EUR' },
            deadline: inDays(30),
            remote: false,
            location: lisbon,
          },
          as('demo-hirer', 'hirer'),
        ),
      'JOB_EXISTS',
    );
  const jobs =
    (await job('demo-job-bathroom', 'Bathroom retiling in Alfama', ['tiling', 'bathrooms'], 300_000)) +
    (await job('demo-job-lights', 'Kitchen lighting rewire', ['electrical', 'lighting'], 120_000));
  const applications = await once(
    () =>
      marketplace.apply(
        {
          jobId: 'demo-job-bathroom',
          coverLetter: 'I can start next week.',
          proposedAmountMinor: 250_000,
          currency: 'EUR',
        },
        as('demo-worker-ana', 'worker'),
      ),
    'APPLICATION_EXISTS',
  );
  return { workers: workers.length, jobs, applications };
}

export const marketplace: DemoData = { name: 'marketplace', load };
