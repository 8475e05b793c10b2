import { describe, expect, it } from 'vitest';
import {
  type DecideContext,
  type Decider,
  DomainError,
  type DomainEvent,
  type NoStream,
  noStream,
} from '../../commands/decider.js';
import { DeciderExpectationError, given } from '../support/decider.js';

// The given/when/then helper must fail whenever the decider does not do what the test says: a helper that
// passed too easily would make every decider test built on it pass too easily. A toy lamp decider, so these
// tests depend on no context's rules.

type LampEvent =
  | DomainEvent<'LampInstalled', { lampId: string; at: string }>
  | DomainEvent<'LampSwitchedOn', { lampId: string; at: string }>;
type LampCommand =
  | { type: 'InstallLamp'; data: { lampId: string } }
  | { type: 'SwitchOn'; data: { lampId: string } }
  | { type: 'Explode'; data: { lampId: string } }
  | { type: 'Tamper'; data: { lampId: string } };
type Lamp = NoStream | { status: 'off' | 'on'; lampId: string };

const lampDecider: Decider<LampCommand, LampEvent, Lamp, DecideContext> = {
  initialState: noStream,
  evolve: (state, event) => {
    if (event.type === 'LampInstalled') return { status: 'off', lampId: event.data.lampId };
    return state.status === 'none' ? state : { ...state, status: 'on' };
  },
  decide: (command, state, { now }) => {
    const at = now.toISOString();
    const { lampId } = command.data;
    switch (command.type) {
      case 'InstallLamp':
        if (state.status !== 'none') throw new DomainError('conflict', 'LAMP_EXISTS', 'already installed', { lampId });
        return [{ type: 'LampInstalled', data: { lampId, at } }];
      case 'SwitchOn':
        if (state.status === 'none')
          throw new DomainError('not_found', 'LAMP_NOT_FOUND', 'no such lamp', { lampId, hint: 'install it' });
        return state.status === 'on' ? [] : [{ type: 'LampSwitchedOn', data: { lampId, at } }];
      case 'Explode':
        throw new TypeError('a bug, not a refusal');
      case 'Tamper':
        (state as { status: string }).status = 'on'; // a decide that mutates its input
        return [];
    }
  },
};

const NOW = new Date('2025-03-14T12:30:00.000Z');
const AT = NOW.toISOString();
const ctx = { now: NOW };
const install: LampCommand = { type: 'InstallLamp', data: { lampId: 'l-1' } };
const switchOn: LampCommand = { type: 'SwitchOn', data: { lampId: 'l-1' } };
const installed: LampEvent = { type: 'LampInstalled', data: { lampId: 'l-1', at: '2025-03-14T10:00:00.000Z' } };
const switchedOn: LampEvent = { type: 'LampSwitchedOn', data: { lampId: 'l-1', at: '2025-03-14T11:00:00.000Z' } };

/** The expectation error `act` throws; fails the test if it passes or throws anything else. */
function failure(act: () => unknown): DeciderExpectationError {
  try {
    act();
  } catch (error) {
    if (error instanceof DeciderExpectationError) return error;
    throw error;
  }
  throw new Error('expected the helper to fail, but it passed');
}

describe('the decider test helper — when the decider does what the test says', () => {
  it('passes thenDecides, thenNothing, thenRefuses, thenState and thenStateMatches', () => {
    given(lampDecider)
      .when(install, ctx)
      .thenDecides([{ type: 'LampInstalled', data: { lampId: 'l-1', at: AT } }]);
    given(lampDecider, [installed, switchedOn]).when(switchOn, ctx).thenNothing();
    given(lampDecider)
      .when(switchOn, ctx)
      .thenRefuses('not_found', 'LAMP_NOT_FOUND')
      .withDetails({ lampId: 'l-1', hint: 'install it' })
      .withDetailsMatching({ lampId: 'l-1' });
    given(lampDecider, [installed]).thenState({ status: 'off', lampId: 'l-1' });
    given(lampDecider, [installed, switchedOn]).thenStateMatches({ status: 'on' });
    given(lampDecider)
      .when(install, ctx)
      .thenDecidesMatching([{ type: 'LampInstalled', data: { at: AT } }]);
  });

  it('continues from the history plus the decided events, so a lifecycle reads as one sentence', () => {
    const end = given(lampDecider)
      .when(install, ctx)
      .thenDecides([{ type: 'LampInstalled', data: { lampId: 'l-1', at: AT } }])
      .thenState({ status: 'off', lampId: 'l-1' })
      .when(switchOn, ctx)
      .thenDecides([{ type: 'LampSwitchedOn', data: { lampId: 'l-1', at: AT } }])
      .thenStateMatches({ status: 'on' })
      .when(switchOn, ctx)
      .thenNothing();

    expect(end.history.map((e) => e.type)).toEqual(['LampInstalled', 'LampSwitchedOn']);
    expect(end.state).toEqual({ status: 'on', lampId: 'l-1' });
  });

  it('returns the refusal, so a test can look further at it', () => {
    const { error } = given(lampDecider, [installed]).when(install, ctx).thenRefuses('conflict', 'LAMP_EXISTS');

    expect(error).toBeInstanceOf(DomainError);
    expect(error.message).toBe('already installed');
  });
});

describe('the decider test helper — fails loudly when the decider does something else', () => {
  it('fails thenDecides when other events were decided, listing the expected and the decided events', () => {
    const error = failure(() =>
      given(lampDecider, [installed])
        .when(switchOn, ctx)
        .thenDecides([{ type: 'LampSwitchedOn', data: { lampId: 'l-2', at: AT } }]),
    );

    expect(error.message).toContain('given the events:\n  LampInstalled {"lampId":"l-1"');
    expect(error.message).toContain('when SwitchOn {"lampId":"l-1"}');
    expect(error.message).toContain(`expected these events:\n  LampSwitchedOn {"lampId":"l-2","at":"${AT}"}`);
    expect(error.message).toContain(`but it decided:\n  LampSwitchedOn {"lampId":"l-1","at":"${AT}"}`);
    expect(error.actual).toEqual([{ type: 'LampSwitchedOn', data: { lampId: 'l-1', at: AT } }]);
    expect(error.expected).toEqual([{ type: 'LampSwitchedOn', data: { lampId: 'l-2', at: AT } }]);
    expect(error.showDiff).toBe(true);
  });

  it('fails thenDecides when fewer or more events were decided', () => {
    expect(
      failure(() => given(lampDecider, [installed, switchedOn]).when(switchOn, ctx).thenDecides([switchedOn])).message,
    ).toContain('but it decided:\n  (no events)');
    expect(failure(() => given(lampDecider).when(install, ctx).thenDecides([])).message).toContain(
      'expected these events:\n  (no events)',
    );
  });

  it('fails thenDecides when the command was refused, naming the refusal', () => {
    const error = failure(() => given(lampDecider).when(switchOn, ctx).thenDecides([switchedOn]));

    expect(error.message).toContain('but it refused: a refusal not_found/LAMP_NOT_FOUND (no such lamp)');
  });

  it('fails thenDecidesMatching when a field differs or the number of events differs', () => {
    expect(() =>
      given(lampDecider)
        .when(install, ctx)
        .thenDecidesMatching([{ type: 'LampInstalled', data: { lampId: 'l-2' } }]),
    ).toThrow(/expected events matching:\n {2}LampInstalled with at least \{"lampId":"l-2"\}/);
    expect(() =>
      given(lampDecider)
        .when(install, ctx)
        .thenDecidesMatching([{ type: 'LampInstalled' }, { type: 'LampSwitchedOn' }]),
    ).toThrow(DeciderExpectationError);
  });

  it('fails thenNothing when an event was decided, or when the command was refused', () => {
    expect(failure(() => given(lampDecider, [installed]).when(switchOn, ctx).thenNothing()).message).toMatch(
      /expected no events \(a no-op\)\nbut it decided:\n {2}LampSwitchedOn/,
    );
    expect(failure(() => given(lampDecider).when(switchOn, ctx).thenNothing()).message).toContain(
      'but it refused: a refusal not_found/LAMP_NOT_FOUND',
    );
  });

  it('fails thenRefuses when the command was accepted', () => {
    const error = failure(() => given(lampDecider).when(install, ctx).thenRefuses('conflict', 'LAMP_EXISTS'));

    expect(error.message).toContain('expected a refusal conflict/LAMP_EXISTS\nbut it decided:\n  LampInstalled');
  });

  it('fails thenRefuses when the code or the kind differs', () => {
    expect(
      failure(() => given(lampDecider).when(switchOn, ctx).thenRefuses('not_found', 'LAMP_EXISTS')).message,
    ).toContain('expected a refusal not_found/LAMP_EXISTS\nbut it refused: a refusal not_found/LAMP_NOT_FOUND');
    const wrongKind = failure(() => given(lampDecider).when(switchOn, ctx).thenRefuses('conflict', 'LAMP_NOT_FOUND'));
    expect(wrongKind.message).toContain('expected a refusal conflict/LAMP_NOT_FOUND');
    expect(wrongKind.actual).toBe('not_found/LAMP_NOT_FOUND');
  });

  it('fails withDetails on any difference, and withDetailsMatching on a differing field', () => {
    const refusal = () => given(lampDecider).when(switchOn, ctx).thenRefuses('not_found', 'LAMP_NOT_FOUND');

    expect(failure(() => refusal().withDetails({ lampId: 'l-1' })).message).toContain(
      'but got details {"lampId":"l-1","hint":"install it"}',
    );
    expect(() => refusal().withDetailsMatching({ lampId: 'l-2' })).toThrow(DeciderExpectationError);
  });

  it('fails thenRefuses when decide throws something that is not a DomainError, keeping it as the cause', () => {
    const error = failure(() =>
      given(lampDecider, [installed])
        .when({ type: 'Explode', data: { lampId: 'l-1' } }, ctx)
        .thenRefuses('conflict', 'X'),
    );

    expect(error.message).toContain('but it threw TypeError: a bug, not a refusal, not a DomainError');
    expect(error.cause).toBeInstanceOf(TypeError);
    expect(() =>
      given(lampDecider, [installed])
        .when({ type: 'Explode', data: { lampId: 'l-1' } }, ctx)
        .thenDecides([]),
    ).toThrow(DeciderExpectationError);
  });

  it('fails when decide mutates the state it was given (the state is frozen)', () => {
    const error = failure(() =>
      given(lampDecider, [installed])
        .when({ type: 'Tamper', data: { lampId: 'l-1' } }, ctx)
        .thenNothing(),
    );

    expect(error.message).toMatch(/but it threw TypeError: .*read.only/);
  });

  it('fails thenState on any difference and thenStateMatches on a differing field', () => {
    const exact = failure(() => given(lampDecider, [installed]).thenState({ status: 'on', lampId: 'l-1' }));
    expect(exact.message).toContain('expected the state {"status":"on","lampId":"l-1"}');
    expect(exact.message).toContain('but it folded into {"status":"off","lampId":"l-1"}');

    expect(() => given(lampDecider, [installed]).thenState({ status: 'off' } as Lamp)).toThrow(DeciderExpectationError);
    expect(() => given(lampDecider, [installed]).thenStateMatches({ status: 'on' })).toThrow(
      /expected a state with \{"status":"on"\}/,
    );
    expect(() => given(lampDecider).thenState({ status: 'off', lampId: 'l-1' })).toThrow(/^given no events\n/);
  });
});
