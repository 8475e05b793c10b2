// Given / when / then for any context's decider unit tests, reading as the sentence the conventions ask for:
//
//   given(restaurantDecider, [registered]).when(open, { now: NOW }).thenDecides([opened]);
//   given(restaurantDecider, [registered, opened]).when(open, { now: NOW }).thenNothing();
//   given(restaurantDecider).when(open, { now: NOW }).thenRefuses('not_found', 'RESTAURANT_NOT_FOUND');
//   given(restaurantDecider, [registered]).thenState({ status: 'closed', … });
//
// A failure names the history, the command, and what was expected against what the decider did, with the diff
// vitest prints for any assertion. Events, command and state are frozen first: a decide or evolve that mutates
// its input throws instead of passing by accident. (`thenDecides`, not `then`: an object with a `then` method is
// a thenable, which `await`, or a test callback returning it, would call as a promise.)
import { expect } from 'vitest';
import {
  type DecideContext,
  type Decider,
  type DomainCommand,
  DomainError,
  type DomainEvent,
} from '../../commands/decider.js';
import type { ErrorKind } from '../../runtime/errors.js';

/** Every field optional, all the way down: what `toMatchObject` compares. */
export type DeepPartial<T> = T extends readonly (infer U)[]
  ? readonly DeepPartial<U>[]
  : T extends object
    ? { readonly [K in keyof T]?: DeepPartial<T[K]> }
    : T;

/** An event named by its type, with at least the given data. */
export type PartialEvent<E> = E extends DomainEvent<infer T, infer D> ? { type: T; data?: DeepPartial<D> } : never;

export interface Given<C, E, S, X> {
  /** The events given, in order. */
  readonly history: readonly E[];
  /** The state the history folds into. */
  readonly state: S;
  /** Decides `command` against the state, with `context` (the clock and whatever else the decider reads). */
  when(command: C, context: X): When<C, E, S, X>;
  /** The history folds into exactly this state. */
  thenState(expected: S): Given<C, E, S, X>;
  /** The history folds into a state with at least these fields. */
  thenStateMatches(expected: DeepPartial<S>): Given<C, E, S, X>;
}

export interface When<C, E, S, X> {
  /** The decision is exactly these events, in order. Continues from the history with them appended. */
  thenDecides(expected: readonly E[]): Given<C, E, S, X>;
  /** The decision is as many events as given, each of that type with at least that data. Continues likewise. */
  thenDecidesMatching(expected: readonly PartialEvent<E>[]): Given<C, E, S, X>;
  /** The command is accepted and appends nothing (idempotent, a no-op). Continues from the same history. */
  thenNothing(): Given<C, E, S, X>;
  /** The command is refused with a DomainError of this kind and code. */
  thenRefuses(kind: ErrorKind, code: string): Refusal;
}

export interface Refusal {
  readonly error: DomainError;
  /** The refusal's details are exactly these. */
  withDetails(expected: Record<string, unknown>): Refusal;
  /** The refusal's details have at least these fields. */
  withDetailsMatching(expected: Record<string, unknown>): Refusal;
}

/** The error a failed expectation throws: a readable message, and actual/expected for the runner's diff. */
export class DeciderExpectationError extends Error {
  readonly showDiff: boolean;
  constructor(
    message: string,
    readonly actual?: unknown,
    readonly expected?: unknown,
  ) {
    super(message);
    this.name = 'DeciderExpectationError';
    this.showDiff = actual !== undefined || expected !== undefined;
  }
}

type Outcome<E> = { readonly events: readonly E[] } | { readonly refused: DomainError } | { readonly threw: unknown };

/** Freezes a value and everything it holds (not Map/Set contents), so a mutation throws. */
function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}

const show = (value: unknown): string =>
  JSON.stringify(value, (_key, v: unknown) => (v instanceof Map ? Object.fromEntries(v) : v));

const listEvents = (events: readonly DomainEvent[]): string =>
  events.length === 0 ? '  (no events)' : events.map((e) => `  ${e.type} ${show(e.data)}`).join('\n');

const describeRefusal = (error: DomainError): string =>
  `a refusal ${error.kind}/${error.code} (${error.message}) with details ${show(error.details)}`;

const describeOutcome = <E extends DomainEvent>(outcome: Outcome<E>): string =>
  'events' in outcome
    ? `it decided:\n${listEvents(outcome.events)}`
    : 'refused' in outcome
      ? `it refused: ${describeRefusal(outcome.refused)}`
      : `it threw ${outcome.threw instanceof Error ? `${outcome.threw.name}: ${outcome.threw.message}` : show(outcome.threw)}, not a DomainError`;

/** Runs a vitest matcher, turning its failure into our message while keeping actual/expected for the diff. */
function check(assertion: () => void, message: () => string, actual: unknown, expected: unknown): void {
  try {
    assertion();
  } catch {
    throw new DeciderExpectationError(message(), actual, expected);
  }
}

/** The history a decider folds, as the executor would load it; `.when` decides a command against it. */
export function given<C extends DomainCommand, E extends DomainEvent, S, X extends DecideContext>(
  decider: Decider<C, E, S, X>,
  history: readonly E[] = [],
): Given<C, E, S, X> {
  const events = deepFreeze([...history]);
  const state = deepFreeze(events.reduce(decider.evolve, decider.initialState()));
  const givenText = events.length === 0 ? 'given no events' : `given the events:\n${listEvents(events)}`;

  const self: Given<C, E, S, X> = {
    history: events,
    state,
    when(command, context) {
      const whenText = `${givenText}\nwhen ${command.type} ${show(command.data)}`;
      let outcome: Outcome<E>;
      try {
        outcome = { events: decider.decide(deepFreeze(command), state, context) };
      } catch (error) {
        outcome = error instanceof DomainError ? { refused: error } : { threw: error };
      }
      const decided = (expected: string): readonly E[] => {
        if ('events' in outcome) return outcome.events;
        const failure = new DeciderExpectationError(
          `${whenText}\nexpected ${expected}\nbut ${describeOutcome(outcome)}`,
        );
        if ('threw' in outcome) failure.cause = outcome.threw;
        throw failure;
      };
      return {
        thenDecides(expected) {
          const actual = decided(`these events:\n${listEvents(expected)}`);
          check(
            () => expect(actual).toEqual(expected),
            () => `${whenText}\nexpected these events:\n${listEvents(expected)}\nbut ${describeOutcome(outcome)}`,
            actual,
            expected,
          );
          return given(decider, [...events, ...actual]);
        },
        thenDecidesMatching(expected) {
          const text = expected.map((e) => `  ${e.type} with at least ${show(e.data ?? {})}`).join('\n');
          const actual = decided(`events matching:\n${text}`);
          check(
            () => expect(actual).toMatchObject(expected),
            () => `${whenText}\nexpected events matching:\n${text}\nbut ${describeOutcome(outcome)}`,
            actual,
            expected,
          );
          return given(decider, [...events, ...actual]);
        },
        thenNothing() {
          const actual = decided('no events (a no-op)');
          if (actual.length > 0) {
            throw new DeciderExpectationError(
              `${whenText}\nexpected no events (a no-op)\nbut ${describeOutcome(outcome)}`,
              actual,
              [],
            );
          }
          return self;
        },
        thenRefuses(kind, code) {
          const expected = `a refusal ${kind}/${code}`;
          if (!('refused' in outcome)) {
            const failure = new DeciderExpectationError(
              `${whenText}\nexpected ${expected}\nbut ${describeOutcome(outcome)}`,
            );
            if ('threw' in outcome) failure.cause = outcome.threw;
            throw failure;
          }
          const error = outcome.refused;
          if (error.kind !== kind || error.code !== code) {
            throw new DeciderExpectationError(
              `${whenText}\nexpected ${expected}\nbut it refused: ${describeRefusal(error)}`,
              `${error.kind}/${error.code}`,
              `${kind}/${code}`,
            );
          }
          const refusal: Refusal = {
            error,
            withDetails(details) {
              check(
                () => expect(error.details).toEqual(details),
                () =>
                  `${whenText}\nexpected ${expected} with details ${show(details)}\nbut got details ${show(error.details)}`,
                error.details,
                details,
              );
              return refusal;
            },
            withDetailsMatching(details) {
              check(
                () => expect(error.details).toMatchObject(details),
                () =>
                  `${whenText}\nexpected ${expected} with details having ${show(details)}\nbut got details ${show(error.details)}`,
                error.details,
                details,
              );
              return refusal;
            },
          };
          return refusal;
        },
      };
    },
    thenState(expected) {
      check(
        () => expect(state).toEqual(expected),
        () => `${givenText}\nexpected the state ${show(expected)}\nbut it folded into ${show(state)}`,
        state,
        expected,
      );
      return self;
    },
    thenStateMatches(expected) {
      check(
        () => expect(state).toMatchObject(expected as object),
        () => `${givenText}\nexpected a state with ${show(expected)}\nbut it folded into ${show(state)}`,
        state,
        expected,
      );
      return self;
    },
  };
  return self;
}
