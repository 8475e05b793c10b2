import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ProjectedEvent } from '../../../runtime/consumer/types.js';
import { type DeadlineOp, netDeadlines, planReactions } from '../../../sagas/runtime/batch-plan.js';
import type { LoadedSaga } from '../../../sagas/runtime/store.js';
import type { SagaDefinition } from '../../../sagas/runtime/types.js';

// The pure half of a saga batch: folding a batch's events over their sagas must leave what applying them one at a
// time would have, with one write per table.

type Row = { dueAt: number; status: string } | undefined;

/** A deadline row as the runtime changed it one reaction at a time (store.ts persistReaction). */
function sequentially(initial: Row, ops: readonly DeadlineOp[]): Row {
  let row = initial;
  for (const op of ops) {
    if (op.op === 'schedule') row = { dueAt: op.dueAt.getTime(), status: 'scheduled' };
    else if (row?.status === 'scheduled') row = { ...row, status: 'cancelled' };
  }
  return row;
}

/** The same row after the batch's net writes (batch-store.ts writePlan). */
function net(initial: Row, ops: readonly DeadlineOp[]): Row {
  const { upserts, cancels } = netDeadlines(ops);
  expect(upserts.length + cancels.length).toBeLessThanOrEqual(1);
  const [upsert] = upserts;
  if (upsert) return { dueAt: upsert.dueAt.getTime(), status: upsert.status };
  if (cancels.length > 0 && initial?.status === 'scheduled') return { ...initial, status: 'cancelled' };
  return initial;
}

describe('netDeadlines', () => {
  it('writes what the operations applied in order would leave, whatever the row held before', () => {
    const op = fc.oneof(
      fc
        .integer({ min: 1, max: 9 })
        .map((t): DeadlineOp => ({ sagaId: 's', name: 'd', op: 'schedule', dueAt: new Date(t) })),
      fc.constant<DeadlineOp>({ sagaId: 's', name: 'd', op: 'cancel' }),
    );
    const initial = fc.oneof(
      fc.constant<Row>(undefined),
      fc.constantFrom('scheduled', 'cancelled', 'fired').map((status): Row => ({ dueAt: 0, status })),
    );
    fc.assert(
      fc.property(initial, fc.array(op, { maxLength: 8 }), (row, ops) => {
        expect(net(row, ops)).toEqual(sequentially(row, ops));
      }),
    );
  });

  it('keeps deadlines of different sagas and names apart', () => {
    const { upserts, cancels } = netDeadlines([
      { sagaId: 'a', name: 'x', op: 'schedule', dueAt: new Date(1) },
      { sagaId: 'b', name: 'x', op: 'cancel' },
      { sagaId: 'a', name: 'y', op: 'cancel' },
      { sagaId: 'a', name: 'x', op: 'cancel' },
    ]);
    expect(upserts).toEqual([{ sagaId: 'a', name: 'x', dueAt: new Date(1), status: 'cancelled' }]);
    expect(cancels).toEqual([
      { sagaId: 'b', name: 'x' },
      { sagaId: 'a', name: 'y' },
    ]);
  });
});

/** A counting saga: `start` starts it, `add` adds, `noop` is ignored; each `add` issues a command of its own. */
const counter: SagaDefinition<{ total: number; seen: string[] }> = {
  name: 'counter',
  topics: ['t'],
  correlationId: (e) => (e.data as { id: string }).id,
  starts: (e) => e.eventType === 'start',
  initialState: () => ({ total: 0, seen: [] }),
  react: (s, e) =>
    e.eventType === 'noop'
      ? null
      : {
          state: { total: s.total + ((e.data as { n?: number }).n ?? 0), seen: [...s.seen, e.eventId] },
          commands: e.eventType === 'add' ? [{ step: `add-${e.eventId}`, kind: 'k', payload: {} }] : [],
        },
  onDeadline: () => null,
  onCommandFailed: () => null,
  status: (s) => `total ${s.total}`,
};

const ev = (eventId: string, eventType: string, id: string, n = 0) =>
  ({
    eventId,
    eventType,
    streamId: id,
    streamVersion: 1,
    globalPosition: 1,
    recordedAt: '',
    correlationId: `corr-${eventId}`,
    data: { id, n },
  }) as ProjectedEvent;

describe('planReactions', () => {
  it('folds each saga’s events in batch order, one version per reaction; ignores what cannot start a saga', () => {
    const loaded = new Map<string, LoadedSaga<{ total: number; seen: string[] }> | null>([
      [
        'old',
        { state: { total: 10, seen: ['e0'] }, version: 4, origin: { correlationId: 'first', causationId: 'e0' } },
      ],
    ]);
    const events = [
      ev('e1', 'add', 'new', 1), // not a start: ignored, the saga does not exist yet
      ev('e2', 'start', 'new'),
      ev('e3', 'add', 'old', 5),
      ev('e4', 'add', 'new', 2),
      ev('e5', 'noop', 'old'),
      ev('e6', 'add', 'old', 7),
    ].map((event) => ({ sagaId: (event.data as { id: string }).id, event }));
    const { plan, applied } = planReactions(counter, loaded, events, () => new Date(0));
    expect(applied).toEqual([false, true, true, true, false, true]);
    expect(plan.sagas).toEqual([
      {
        sagaId: 'new',
        status: 'total 2',
        state: { total: 2, seen: ['e2', 'e4'] },
        version: 2,
        fromVersion: 0,
        origin: { correlationId: 'corr-e2', causationId: 'e2' },
      },
      {
        sagaId: 'old',
        status: 'total 22',
        state: { total: 22, seen: ['e0', 'e3', 'e6'] },
        version: 6,
        fromVersion: 4,
        origin: { correlationId: 'first', causationId: 'e0' },
      },
    ]);
    // Commands carry the saga's flow (its origin's correlation), caused by the event that issued them.
    expect(plan.commands.map((c) => [c.sagaId, c.step, c.cause.correlationId, c.cause.causationId])).toEqual([
      ['new', 'add-e4', 'corr-e2', 'e4'],
      ['old', 'add-e3', 'first', 'e3'],
      ['old', 'add-e6', 'first', 'e6'],
    ]);
    expect(plan.timeline.map((t) => [t.sagaId, t.detail.eventId, t.detail.status])).toEqual([
      ['new', 'e2', 'total 0'],
      ['new', 'e4', 'total 2'],
      ['old', 'e3', 'total 15'],
      ['old', 'e6', 'total 22'],
    ]);
  });
});
