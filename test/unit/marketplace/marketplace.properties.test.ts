import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Decider, DomainError } from '../../../commands/decider.js';
import {
  type Application,
  type ApplicationCommand,
  applicationDecider,
  applicationIdFor,
} from '../../../commands/marketplace/application.js';
import { type Contract, type ContractCommand, contractDecider } from '../../../commands/marketplace/contract.js';
import { type Job, type JobCommand, jobDecider } from '../../../commands/marketplace/job.js';
import type { ApplicationEvent, ContractEvent } from '../../../schemas/marketplace/events.js';
import { FINAL_APPLICATION_STATUSES } from '../../../schemas/marketplace/vocabulary.js';
import { CONTRACT_ID, contractCreated, HIRER, JOB_ID, jobDetails, NOW, postedJob, WORKER } from './fixtures.js';

// Invariants of the marketplace deciders over random command sequences. Each step decides against the state the
// previous steps folded into, as the executor would; a refusal (DomainError) appends nothing and is allowed,
// anything else thrown fails the property.

interface Step<S, E> {
  readonly before: S;
  readonly events: readonly E[];
  readonly after: S;
}

function run<C, E, S, X>(
  decider: Decider<C, E, S, X & { now: Date }>,
  start: S,
  commands: readonly C[],
  ctx: (i: number) => X & { now: Date },
) {
  const steps: Step<S, E>[] = [];
  let state = start;
  for (const [i, command] of commands.entries()) {
    let events: E[] = [];
    try {
      events = decider.decide(command, state, ctx(i));
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
    }
    const after = events.reduce(decider.evolve, state);
    steps.push({ before: state, events, after });
    state = after;
  }
  return steps;
}

const statusOf = (s: { status: string }) => s.status;

describe('Application decider — properties', () => {
  const workers = ['w1', 'w2', 'w3'];
  const jobs = ['j1', 'j2'];
  const command = fc.oneof(
    fc.record({
      kind: fc.constant('submit' as const),
      job: fc.constantFrom(...jobs),
      worker: fc.constantFrom(...workers),
    }),
    fc.record({
      kind: fc.constant('withdraw' as const),
      job: fc.constantFrom(...jobs),
      worker: fc.constantFrom(...workers),
    }),
  );

  it('keeps one application per worker per job, whatever the sequence of applies and withdrawals', () => {
    fc.assert(
      fc.property(fc.array(command, { maxLength: 40 }), (commands) => {
        // Streams by id, as the store keeps them: the id is derived from (job, worker).
        const streams = new Map<string, Application>();
        const submitted = new Map<string, number>();
        for (const c of commands) {
          const id = applicationIdFor(c.job, c.worker);
          const state = streams.get(id) ?? applicationDecider.initialState();
          const job = { ...postedJob(), jobId: c.job };
          const cmd: ApplicationCommand =
            c.kind === 'submit'
              ? {
                  type: 'SubmitApplication',
                  data: { jobId: c.job, workerId: c.worker, coverLetter: '', proposedAmountMinor: 1, currency: 'EUR' },
                }
              : { type: 'WithdrawApplication', data: { applicationId: id } };
          let events: ApplicationEvent[] = [];
          try {
            events = applicationDecider.decide(cmd, state, { now: NOW, job });
          } catch (error) {
            if (!(error instanceof DomainError)) throw error;
            if (c.kind === 'submit') expect(error.code).toBe('APPLICATION_EXISTS');
          }
          for (const e of events) {
            if (e.type === 'ApplicationSubmitted') {
              expect(e.data.applicationId).toBe(id);
              submitted.set(id, (submitted.get(id) ?? 0) + 1);
            }
          }
          streams.set(id, events.reduce(applicationDecider.evolve, state));
        }
        for (const count of submitted.values()) expect(count).toBe(1);
      }),
    );
  });

  it('never moves an application out of a final status', () => {
    const id = applicationIdFor(JOB_ID, WORKER);
    const step = fc.constantFrom<ApplicationCommand>(
      { type: 'WithdrawApplication', data: { applicationId: id } },
      { type: 'ShortlistApplication', data: { applicationId: id } },
      { type: 'RejectApplication', data: { applicationId: id, reason: 'no' } },
      { type: 'AcceptApplication', data: { applicationId: id, contractId: id } },
      { type: 'MarkApplicationNotSelected', data: { applicationId: id, contractId: 'other' } },
    );
    const submit: ApplicationCommand = {
      type: 'SubmitApplication',
      data: { jobId: JOB_ID, workerId: WORKER, coverLetter: '', proposedAmountMinor: 1, currency: 'EUR' },
    };
    fc.assert(
      fc.property(fc.array(step, { maxLength: 20 }), (commands) => {
        const steps = run(applicationDecider, applicationDecider.initialState(), [submit, ...commands], () => ({
          now: NOW,
          job: postedJob(),
        }));
        for (const s of steps) {
          if (s.before.status !== 'none' && FINAL_APPLICATION_STATUSES.includes(s.before.status)) {
            expect(s.events).toEqual([]);
            expect(statusOf(s.after)).toBe(s.before.status);
          }
        }
      }),
    );
  });
});

describe('Job decider — properties', () => {
  const fill = (applicationId: string): JobCommand => ({
    type: 'FillJob',
    data: {
      jobId: JOB_ID,
      applicationId,
      workerId: WORKER,
      contractId: applicationId,
      amountMinor: 10,
      currency: 'EUR',
      milestones: [{ title: 't', amountMinor: 10, dueDate: '2026-06-02' }],
    },
  });
  const step = fc.constantFrom<JobCommand>(
    { type: 'UpdateJob', data: { jobId: JOB_ID, details: jobDetails({ title: 'other' }) } },
    { type: 'CloseJob', data: { jobId: JOB_ID } },
    { type: 'CancelJob', data: { jobId: JOB_ID, reason: 'r' } },
    fill('a1'),
    fill('a2'),
    { type: 'ReopenJob', data: { jobId: JOB_ID, applicationId: 'a1', reason: 'withdrawn' } },
  );

  it('fills a job for one application at a time, and never leaves CANCELLED', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 25 }), (commands) => {
        for (const s of run(jobDecider, postedJob() as Job, commands, () => ({ now: NOW }))) {
          if (s.before.status === 'CANCELLED') expect(s.events).toEqual([]);
          if (s.before.status === 'FILLED') expect(s.events.some((e) => e.type === 'JobFilled')).toBe(false);
        }
      }),
    );
  });
});

describe('Contract decider — properties', () => {
  const startContract: ContractCommand = { type: 'StartContract', data: { contractId: CONTRACT_ID } };
  /** Statuses a contract never leaves. */
  const FINAL_CONTRACT_STATUSES: readonly string[] = ['COMPLETED', 'CANCELLED', 'NOT_STARTED'];
  const parties = [HIRER, WORKER, 'stranger'];
  const milestoneIds = ['m1', 'm2', 'm3'];
  const command: fc.Arbitrary<ContractCommand> = fc.oneof(
    fc.record({ m: fc.constantFrom(...milestoneIds), by: fc.constantFrom(...parties) }).map(
      ({ m, by }): ContractCommand => ({
        type: 'SubmitMilestone',
        data: { contractId: CONTRACT_ID, milestoneId: m, note: '', by },
      }),
    ),
    // `auto`: the escrow process's approval after the review period, which names no hirer.
    fc.record({ m: fc.constantFrom(...milestoneIds), by: fc.constantFrom(...parties), auto: fc.boolean() }).map(
      ({ m, by, auto }): ContractCommand => ({
        type: 'ApproveMilestone',
        data: { contractId: CONTRACT_ID, milestoneId: m, by, ...(auto ? { auto } : {}) },
      }),
    ),
    fc.record({ m: fc.constantFrom(...milestoneIds), by: fc.constantFrom(...parties) }).map(
      ({ m, by }): ContractCommand => ({
        type: 'RequestMilestoneChanges',
        data: { contractId: CONTRACT_ID, milestoneId: m, reason: 'r', by },
      }),
    ),
    fc.record({ by: fc.constantFrom(...parties), asAdmin: fc.boolean() }).map(
      ({ by, asAdmin }): ContractCommand => ({
        type: 'CancelContract',
        data: { contractId: CONTRACT_ID, reason: 'r', by, asAdmin },
      }),
    ),
    fc.record({ by: fc.constantFrom(...parties), rating: fc.integer({ min: 0, max: 6 }) }).map(
      ({ by, rating }): ContractCommand => ({
        type: 'ReviewContract',
        data: { contractId: CONTRACT_ID, by, rating, text: 't' },
      }),
    ),
    // The escrow process's: the money is held, or it never came.
    fc.constant<ContractCommand>(startContract),
    fc.constant<ContractCommand>({ type: 'EndUnfundedContract', data: { contractId: CONTRACT_ID, reason: 'r' } }),
  );
  // Amounts of 1..3 milestones; the contract amount is their sum, as acceptance makes it.
  const created = fc.array(fc.integer({ min: 1, max: 1_000_000 }), { minLength: 3, maxLength: 3 }).map((amounts) => {
    const base = contractCreated as Extract<ContractEvent, { type: 'ContractCreated' }>;
    const milestones = base.data.milestones.map((m, i) => ({ ...m, amountMinor: amounts[i]! }));
    const amountMinor = amounts.reduce((a, b) => a + b, 0);
    return { ...base, data: { ...base.data, milestones, amountMinor } } as ContractEvent;
  });
  // Time moves on a day per command, so some reviews fall after the 14-day window.
  const ctx = (i: number) => ({ now: new Date(NOW.getTime() + i * 86_400_000) });
  const start = (event: ContractEvent): Contract => contractDecider.evolve(contractDecider.initialState(), event);
  // The contract is made FUNDING: the escrow process starts it, then the work completes it.
  const completion: ContractCommand[] = [
    startContract,
    ...milestoneIds.flatMap((m): ContractCommand[] => [
      { type: 'SubmitMilestone', data: { contractId: CONTRACT_ID, milestoneId: m, note: '', by: WORKER } },
      { type: 'ApproveMilestone', data: { contractId: CONTRACT_ID, milestoneId: m, by: HIRER } },
    ]),
  ];
  // A third of the runs complete the contract first, so the review and terminal-state properties see completed
  // ones; a third start it first, so the work commands meet an ACTIVE one; the rest begin FUNDING, where a
  // random StartContract or EndUnfundedContract decides which way it goes.
  const commands = fc
    .tuple(fc.constantFrom('complete', 'start', 'funding'), fc.array(command, { maxLength: 40 }))
    .map(([prefix, rest]) =>
      prefix === 'complete' ? [...completion, ...rest] : prefix === 'start' ? [startContract, ...rest] : rest,
    );

  it('keeps the milestones summing to the contract amount, and a cancellation splitting it exactly', () => {
    fc.assert(
      fc.property(created, commands, (event, commands) => {
        for (const s of run(contractDecider, start(event), commands, ctx)) {
          const c = s.after;
          if (c.status === 'none') throw new Error('the contract vanished');
          expect(c.milestones.reduce((t, m) => t + m.amountMinor, 0)).toBe(c.amountMinor);
          for (const e of s.events) {
            if (e.type === 'ContractCancelled')
              expect(e.data.approvedMinor + e.data.unapprovedMinor).toBe(c.amountMinor);
          }
        }
      }),
    );
  });

  it('takes a review only after completion, once per side, from a party', () => {
    let reviews = 0;
    fc.assert(
      fc.property(created, commands, (event, commands) => {
        const seen = new Set<string>();
        for (const s of run(contractDecider, start(event), commands, ctx)) {
          for (const e of s.events) {
            if (e.type !== 'ContractReviewed') continue;
            expect(statusOf(s.before)).toBe('COMPLETED');
            expect([HIRER, WORKER]).toContain(e.data.reviewerId);
            expect(seen.has(e.data.reviewerSide)).toBe(false);
            seen.add(e.data.reviewerSide);
            reviews++;
          }
        }
      }),
    );
    expect(reviews, 'no run made a review: the property checked nothing').toBeGreaterThan(0);
  });

  it('never changes the status of a completed, cancelled or not-started contract', () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(created, commands, (event, commands) => {
        for (const s of run(contractDecider, start(event), commands, ctx)) {
          if (FINAL_CONTRACT_STATUSES.includes(s.before.status)) {
            seen.add(s.before.status);
            expect(s.after.status).toBe(s.before.status);
          }
        }
      }),
    );
    expect([...seen].sort(), 'some final status was never reached: the property checked it nothing').toEqual(
      [...FINAL_CONTRACT_STATUSES].sort(),
    );
  });

  it('takes work only on an ACTIVE contract, starts it only from FUNDING and ends it unfunded only from there', () => {
    const counts = { work: 0, started: 0, notStarted: 0 };
    fc.assert(
      fc.property(created, commands, (event, commands) => {
        for (const s of run(contractDecider, start(event), commands, ctx)) {
          for (const e of s.events) {
            if (e.type === 'MilestoneSubmitted' || e.type === 'MilestoneChangesRequested') {
              expect(s.before.status).toBe('ACTIVE');
              counts.work++;
            }
            if (e.type === 'MilestoneApproved') expect(s.before.status).toBe('ACTIVE');
            if (e.type === 'ContractStarted') {
              expect(s.before.status).toBe('FUNDING');
              counts.started++;
            }
            if (e.type === 'ContractNotStarted') {
              expect(s.before.status).toBe('FUNDING');
              counts.notStarted++;
            }
          }
        }
      }),
    );
    for (const [what, n] of Object.entries(counts)) expect(n, `no run showed ${what}: vacuous`).toBeGreaterThan(0);
  });

  it('completes along the prefix the runs above use (the properties are not vacuous)', () => {
    const steps = run(contractDecider, start(contractCreated), completion, ctx);
    // Every step of the prefix decided something: none was refused and skipped.
    expect(steps.map((s) => s.events.length > 0)).toEqual(completion.map(() => true));
    expect(steps.at(-1)?.after.status).toBe('COMPLETED');
  });
});
