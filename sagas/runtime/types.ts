import type { EventShape, ProjectedEvent } from '../../runtime/consumer/types.js';

/** A command a saga wants done. `step` is unique within one saga: it names the idempotency key saga id + step. */
export interface SagaCommand {
  readonly step: string;
  readonly kind: string;
  readonly payload: Readonly<Record<string, unknown>>;
}

export interface Deadline {
  readonly name: string;
  readonly dueAt: Date;
}

/** What a saga decides on an event, a deadline or a failed command: its next state and the effects to perform. */
export interface Reaction<State> {
  readonly state: State;
  readonly commands?: readonly SagaCommand[];
  readonly schedule?: readonly Deadline[];
  readonly cancel?: readonly string[];
  /** A line for the saga's timeline (what happened and why). */
  readonly note?: string;
  /**
   * Only from `onCommandFailed`: the failure was not compensated (no other command stands in for the failed one),
   * so an operator may have the command performed again (`ledger sagas retry`), with the same idempotency key. Left
   * out, a retry is refused: the saga acted on the failure, and the command succeeding late could act twice.
   */
  readonly retryable?: boolean;
}

/**
 * How far one of the saga's commands has got, as the runtime recorded it: `pending` (not performed yet, or waiting
 * for its next attempt after a transient failure or a deferral), `done` (performed: whatever it records is in the
 * store, its events on their way to the saga), `failed` (given up; `onCommandFailed` was told in the same
 * transaction).
 */
export type CommandStatus = 'pending' | 'done' | 'failed';

/** The saga's own record of what it did: the status of each command it issued, by step. */
export type SagaCommandRecord = Readonly<Partial<Record<string, CommandStatus>>>;

export interface FailedCommand {
  readonly step: string;
  readonly kind: string;
  readonly error: string;
  readonly attempts: number;
}

/**
 * A saga as pure functions over its persisted state. The runtime stores the state with a version, performs the
 * commands once each (by step), fires deadlines once each, and records a timeline.
 *
 * `E` is the contract of its topics (`OrderEvent | PaymentEvent`), so a `switch (event.eventType)` types the data.
 * The runtime holds every saga as `SagaDefinition<unknown>`, state and events opaque (a typed saga fits there as
 * method parameters compare both ways), and hands it only events of its `topics`, each decoded with its own
 * type's reader schema: sound for the reason `asContract` gives.
 */
export interface SagaDefinition<State, E extends EventShape = EventShape> {
  readonly name: string;
  /** Topics (without prefix) whose events it reacts to. */
  readonly topics: readonly string[];
  /** The saga an event belongs to, or null when it is none of this saga's business. */
  correlationId(event: ProjectedEvent<E>): string | null;
  /** Whether this event may start a saga (others for an unknown saga are ignored). */
  starts(event: ProjectedEvent<E>): boolean;
  initialState(sagaId: string): State;
  react(state: State, event: ProjectedEvent<E>, now: Date): Reaction<State> | null;
  /**
   * A deadline fell due. It is decided on the saga's own record of what it did, not only on the events it has seen:
   * those may lag far behind (the consumer after an outage, or under load) while the commands they answer are long
   * done. `commands` is that record, read in the transaction that fires the deadline. The runtime never calls this
   * while one of the saga's commands is being performed (claimed by a dispatcher): the deadline is put off until
   * the outcome is recorded, so no command's answer is ever in flight here except as `done`.
   */
  onDeadline(state: State, deadline: string, now: Date, commands: SagaCommandRecord): Reaction<State> | null;
  onCommandFailed(state: State, failure: FailedCommand, now: Date): Reaction<State> | null;
  /** A one-word summary for listings and metrics. */
  status(state: State): string;
}
