// The shape every aggregate follows: plain data and pure functions. No I/O, no clock, no randomness: what a
// decision needs from outside (the time, other aggregates' state) comes in as its context.
import { DomainError } from '../runtime/errors.js';

export { DomainError };

/** An event as the domain sees it: a past-tense type and its data (the Avro record's fields). */
export interface DomainEvent<T extends string = string, D = object> {
  readonly type: T;
  readonly data: D;
}

/** A command as the domain sees it: an imperative type and its data. */
export interface DomainCommand<T extends string = string, D = object> {
  readonly type: T;
  readonly data: D;
}

/** What every decision gets from outside: the time. Aggregates that need more extend it. */
export interface DecideContext {
  readonly now: Date;
}

/** The one spelling of "this stream has no events yet", shared by every aggregate's state. */
export interface NoStream {
  readonly status: 'none';
}
export const noStream = (): NoStream => ({ status: 'none' });

/** Every state of `S` but the empty one: what a decision reads once it knows the stream exists. */
export type Existing<S> = Exclude<S, NoStream>;

/**
 * An aggregate's behaviour: `decide` says what happens (or throws a DomainError), `evolve` folds what happened,
 * `initialState` is the state of a stream with no events. All three are pure.
 */
export interface Decider<Command, Event, State, Context extends DecideContext = DecideContext> {
  readonly decide: (command: Command, state: State, context: Context) => Event[];
  readonly evolve: (state: State, event: Event) => State;
  readonly initialState: () => State;
}

/** The state after `events`, folded from the initial state. */
export const fold = <S, E>(
  decider: Pick<Decider<unknown, E, S, DecideContext>, 'evolve' | 'initialState'>,
  events: readonly E[],
): S => events.reduce(decider.evolve, decider.initialState());
