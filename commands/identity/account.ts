import { ROLES, type Role } from '../../runtime/roles.js';
import type { AccountEvent } from '../../schemas/identity/events.js';
import { type DecideContext, type Decider, DomainError, type NoStream, noStream } from '../decider.js';
import { acceptEmail, normalizeEmail } from './email.js';
import {
  decideNotificationPreferences,
  evolveNotificationPreferences,
  type NotificationPreferences,
  type NotificationPreferencesCommand,
} from './preferences.js';

// The events are the contract's (generated from schemas/identity/*.avsc); the commands and the state are ours.
export type { AccountEvent };

export type RegisterAccountCommand = {
  type: 'RegisterAccount';
  data: { accountId: string; email: string; role: Role };
};
export type AccountCommand = RegisterAccountCommand | NotificationPreferencesCommand;

export type Account =
  | NoStream
  | {
      readonly status: 'active';
      readonly accountId: string;
      readonly email: string;
      readonly role: Role;
      /** Absent until the account first chooses: then the defaults (every channel on) apply. */
      readonly notifications?: NotificationPreferences;
    };

export const initialAccount: () => Account = noStream;

/**
 * How emails are compared (NFKC, lower-cased, invisible characters and the domain's trailing dot removed) and
 * which ones a new account may use (none that passes for another address): see email.ts.
 */
export { acceptEmail, normalizeEmail };

function registerAccount(command: RegisterAccountCommand, state: Account, { now }: DecideContext): AccountEvent[] {
  if (state.status !== 'none')
    throw new DomainError('conflict', 'ACCOUNT_EXISTS', `account ${command.data.accountId} already exists`);
  if (!ROLES.includes(command.data.role))
    throw new DomainError('invalid', 'INVALID_ROLE', `unknown role ${command.data.role}`);
  return [
    {
      type: 'AccountRegistered',
      data: { ...command.data, email: acceptEmail(command.data.email), registeredAt: now.toISOString() },
    },
  ];
}

export function decideAccount(command: AccountCommand, state: Account, context: DecideContext): AccountEvent[] {
  switch (command.type) {
    case 'RegisterAccount':
      return registerAccount(command, state, context);
    case 'SetNotificationPreferences':
      return decideNotificationPreferences(command, state, context);
  }
}

export function evolveAccount(state: Account, event: AccountEvent): Account {
  switch (event.type) {
    case 'AccountRegistered': {
      const { accountId, email, role } = event.data;
      return { status: 'active', accountId, email, role: role as Role };
    }
    case 'NotificationPreferencesUpdated':
      return evolveNotificationPreferences(state, event);
  }
}

export const accountDecider: Decider<AccountCommand, AccountEvent, Account, DecideContext> = {
  decide: decideAccount,
  evolve: evolveAccount,
  initialState: initialAccount,
};
