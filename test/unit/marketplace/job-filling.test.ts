import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ProjectedEvent } from '../../../runtime/consumer/types.js';
import {
  type JobFillingEvent,
  type JobFillingState,
  jobFillingSaga,
  SAGA_COMMANDS,
} from '../../../sagas/marketplace/job-filling.js';
import type { SagaCommand } from '../../../sagas/runtime/types.js';
import { JOB_ID, jobDetails, milestones, NOW } from './fixtures.js';

const saga = jobFillingSaga();
const at = NOW.toISOString();
let position = 0;
const envelope = (streamId: string) => ({
  eventId: `e-${++position}`,
  streamId,
  streamVersion: 1,
  globalPosition: position,
  recordedAt: at,
  correlationId: 'c',
});
type Event = ProjectedEvent<JobFillingEvent>;
const ev = (eventType: string, data: object, stream = 'x'): Event =>
  ({ ...envelope(stream), eventType, data }) as unknown as Event;

const posted = () => ev('JobPosted', { jobId: JOB_ID, hirerId: 'h', ...jobDetails(), postedAt: at });
const submitted = (applicationId: string) =>
  ev('ApplicationSubmitted', {
    applicationId,
    jobId: JOB_ID,
    hirerId: 'h',
    workerId: `w-${applicationId}`,
    coverLetter: '',
    proposedAmountMinor: 200_000,
    currency: 'EUR',
    submittedAt: at,
  });
const filled = (applicationId: string) =>
  ev('JobFilled', {
    jobId: JOB_ID,
    hirerId: 'h',
    applicationId,
    workerId: `w-${applicationId}`,
    contractId: applicationId,
    amountMinor: 200_000,
    currency: 'EUR',
    milestones,
    filledAt: at,
  });
const accepted = (applicationId: string) =>
  ev('ApplicationAccepted', {
    applicationId,
    jobId: JOB_ID,
    hirerId: 'h',
    workerId: `w-${applicationId}`,
    contractId: applicationId,
    acceptedAt: at,
  });

/** Feeds the events through `react` as the runtime would; returns the final state and every command issued. */
function feed(events: readonly Event[], start = saga.initialState(JOB_ID)) {
  let state: JobFillingState = start;
  const commands: SagaCommand[] = [];
  for (const event of events) {
    const reaction = saga.react(state, event, NOW);
    if (!reaction) continue;
    state = reaction.state;
    commands.push(...(reaction.commands ?? []));
  }
  return { state, commands };
}

describe('the accept-application process', () => {
  it('accepts the application the job was filled with, then makes the contract and tells the others', () => {
    const first = feed([posted(), submitted('a'), submitted('b'), filled('a')]);
    expect(first.commands).toEqual([
      { step: 'accept:a', kind: SAGA_COMMANDS.accept, payload: { applicationId: 'a', contractId: 'a' } },
    ]);
    const second = feed([accepted('a')], first.state);
    expect(second.commands.map((c) => c.step)).toEqual(['contract:a', 'not-selected:b']);
    expect(second.commands[0]!.payload).toMatchObject({
      hirerId: 'h',
      workerId: 'w-a',
      title: jobDetails().title,
      amountMinor: 200_000,
      milestones,
    });
    expect(saga.status(second.state)).toBe('CONTRACTED');
  });

  it('issues nothing again when an event is seen twice', () => {
    const once = feed([posted(), submitted('a'), filled('a'), accepted('a')]);
    expect(feed([submitted('a'), filled('a'), accepted('a')], once.state).commands).toEqual([]);
  });

  it('reopens the job when the application cannot be accepted any more (withdrawn meanwhile)', () => {
    const { state } = feed([posted(), submitted('a'), filled('a')]);
    const failed = saga.onCommandFailed(
      state,
      { step: 'accept:a', kind: SAGA_COMMANDS.accept, error: 'DomainError: application a is WITHDRAWN', attempts: 1 },
      NOW,
    );
    expect(failed?.commands).toMatchObject([
      { step: 'reopen:a', kind: SAGA_COMMANDS.reopen, payload: { jobId: JOB_ID } },
    ]);
    const reopened = feed(
      [ev('JobReopened', { jobId: JOB_ID, applicationId: 'a', reason: 'r', reopenedAt: at })],
      failed!.state,
    );
    expect(reopened.state.acceptance).toBeNull();
    expect(saga.status(reopened.state)).toBe('REOPENED');
    // A later acceptance of another application goes ahead as the first did.
    expect(feed([submitted('b'), filled('b')], reopened.state).commands.map((c) => c.step)).toEqual(['accept:b']);
  });

  it('tells every other applicant exactly once, however the two topics interleave', () => {
    const others = ['b', 'c', 'd'];
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 4 }), { minLength: others.length, maxLength: others.length }),
        (slots) => {
          // Job stream and the accepted application's stream keep their order; the others land anywhere.
          const base: Event[] = [posted(), submitted('a'), filled('a'), accepted('a')];
          const events = [...base];
          others.forEach((id, i) => {
            events.splice(Math.min(slots[i]!, events.length), 0, submitted(id));
          });
          const { commands } = feed(events);
          const told = commands.filter((c) => c.kind === SAGA_COMMANDS.notSelected).map((c) => c.payload.applicationId);
          expect([...told].sort()).toEqual(others);
          expect(commands.filter((c) => c.kind === SAGA_COMMANDS.createContract)).toHaveLength(1);
        },
      ),
    );
  });
});
