import type { ProjectedEvent } from '../../runtime/consumer/types.js';
import { type CommandCause, type LoadedSaga, reactionDetail } from './store.js';
import type { SagaDefinition } from './types.js';

// What a batch of events does to the sagas it concerns, decided without touching the database: each saga's fresh
// events are folded over its state in the order they came (as one event per transaction would have applied them),
// and the effects are gathered into one write per table (batch-store.ts). Pure, so the fold is tested on its own.

/** A saga's state after the batch: inserted (fromVersion 0) or updated from the version read, one per reaction. */
export interface SagaWrite {
  readonly sagaId: string;
  readonly status: string;
  readonly state: unknown;
  readonly version: number;
  readonly fromVersion: number;
  /** The flow the saga belongs to: its first event's ids, set when it is inserted. */
  readonly origin: CommandCause | null;
}

export interface CommandWrite {
  readonly sagaId: string;
  readonly step: string;
  readonly kind: string;
  readonly payload: Readonly<Record<string, unknown>>;
  readonly cause: CommandCause;
}

/** A deadline the batch scheduled: written whole (the last schedule, then cancelled if a later reaction said so). */
export interface DeadlineUpsert {
  readonly sagaId: string;
  readonly name: string;
  readonly dueAt: Date;
  readonly status: 'scheduled' | 'cancelled';
}

/** A deadline the batch only cancelled: cancelled in the store if it is scheduled there. */
export interface DeadlineCancel {
  readonly sagaId: string;
  readonly name: string;
}

export interface TimelineWrite {
  readonly sagaId: string;
  readonly detail: Record<string, unknown>;
}

export interface BatchPlan {
  readonly sagas: readonly SagaWrite[];
  /** In the order the reactions issued them: the first of a step wins, as it would one reaction at a time. */
  readonly commands: readonly CommandWrite[];
  readonly deadlines: readonly DeadlineUpsert[];
  readonly cancels: readonly DeadlineCancel[];
  /** One 'event' entry per reaction, in order. */
  readonly timeline: readonly TimelineWrite[];
}

/** A fresh event of the batch (not applied before) and the saga it belongs to. */
export interface SagaEvent {
  readonly sagaId: string;
  readonly event: ProjectedEvent;
}

export type DeadlineOp =
  | { readonly sagaId: string; readonly name: string; readonly op: 'schedule'; readonly dueAt: Date }
  | { readonly sagaId: string; readonly name: string; readonly op: 'cancel' };

/**
 * The net effect of deadline operations applied in order, one write per deadline. A schedule sets the deadline
 * whole (due, scheduled), whatever it was; a cancel turns a scheduled one into cancelled and leaves any other as it
 * is. So after a schedule the deadline is known, and a cancel before any schedule depends on the store's row.
 */
export function netDeadlines(ops: readonly DeadlineOp[]): { upserts: DeadlineUpsert[]; cancels: DeadlineCancel[] } {
  const net = new Map<string, DeadlineUpsert | DeadlineCancel>();
  for (const op of ops) {
    const key = JSON.stringify([op.sagaId, op.name]);
    const current = net.get(key);
    if (op.op === 'schedule') {
      net.set(key, { sagaId: op.sagaId, name: op.name, dueAt: op.dueAt, status: 'scheduled' });
    } else if (current === undefined) {
      net.set(key, { sagaId: op.sagaId, name: op.name });
    } else if ('status' in current && current.status === 'scheduled') {
      net.set(key, { ...current, status: 'cancelled' });
    }
  }
  const upserts: DeadlineUpsert[] = [];
  const cancels: DeadlineCancel[] = [];
  for (const write of net.values()) {
    if ('status' in write) upserts.push(write);
    else cancels.push(write);
  }
  return { upserts, cancels };
}

/** The ids the commands of a reaction to `event` carry: the saga's flow, caused by this event. */
export function causeOf(event: ProjectedEvent, origin: CommandCause | null, sagaId: string): CommandCause {
  // The commands continue the saga's flow (the correlation and trace of the event that started it, even when this
  // event came from elsewhere, e.g. a provider's webhook), caused by this event.
  const traceId = origin?.traceId ?? event.traceId;
  return {
    correlationId: origin?.correlationId ?? (event.correlationId || sagaId),
    causationId: event.eventId,
    ...(traceId ? { traceId } : {}),
  };
}

/**
 * Folds the batch's fresh events over their sagas' states (`loaded`: each saga as read, null when it does not exist),
 * in batch order per saga. An event for a saga that does not exist and cannot start it, or one the saga does not
 * react to, is ignored (its id is still recorded as processed). Returns the writes and, per event, whether it was
 * applied.
 */
export function planReactions<State>(
  definition: SagaDefinition<State>,
  loaded: ReadonlyMap<string, LoadedSaga<State> | null>,
  events: readonly SagaEvent[],
  now: () => Date,
): { plan: BatchPlan; applied: boolean[] } {
  const applied = events.map(() => false);
  const bySaga = new Map<string, number[]>();
  events.forEach(({ sagaId }, i) => {
    const indexes = bySaga.get(sagaId);
    if (indexes) indexes.push(i);
    else bySaga.set(sagaId, [i]);
  });
  const sagas: SagaWrite[] = [];
  const commands: CommandWrite[] = [];
  const deadlineOps: DeadlineOp[] = [];
  const timeline: TimelineWrite[] = [];
  for (const [sagaId, indexes] of bySaga) {
    const from = loaded.get(sagaId) ?? null;
    let state: State | undefined = from?.state;
    let origin: CommandCause | null = from?.origin ?? null;
    let reactions = 0;
    for (const i of indexes) {
      const { event } = events[i]!;
      const exists = from !== null || reactions > 0;
      if (!exists && !definition.starts(event)) continue;
      const reaction = definition.react(exists ? (state as State) : definition.initialState(sagaId), event, now());
      if (!reaction) continue;
      const cause = causeOf(event, origin, sagaId);
      if (!exists) origin = cause; // a new saga's origin is its first event's flow
      state = reaction.state;
      reactions++;
      applied[i] = true;
      for (const command of reaction.commands ?? []) {
        commands.push({ sagaId, step: command.step, kind: command.kind, payload: command.payload, cause });
      }
      for (const deadline of reaction.schedule ?? []) {
        deadlineOps.push({ sagaId, name: deadline.name, op: 'schedule', dueAt: deadline.dueAt });
      }
      for (const name of reaction.cancel ?? []) deadlineOps.push({ sagaId, name, op: 'cancel' });
      const detail = { eventType: event.eventType, eventId: event.eventId, streamVersion: event.streamVersion };
      timeline.push({
        sagaId,
        detail: reactionDetail(detail, definition.status(reaction.state), reaction),
      });
    }
    if (reactions === 0) continue;
    const fromVersion = from?.version ?? 0;
    sagas.push({
      sagaId,
      status: definition.status(state as State),
      state,
      version: fromVersion + reactions,
      fromVersion,
      origin,
    });
  }
  const { upserts, cancels } = netDeadlines(deadlineOps);
  return { plan: { sagas, commands, deadlines: upserts, cancels, timeline }, applied };
}
