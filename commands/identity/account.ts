import { DomainError, type DomainEvent } from '../decider.js';
import {
  evolveNotificationPreferences,
  type NotificationPreferences,
  type NotificationPreferencesEvent,
} from './preferences.js';

export const ROLES = ['customer', 'restaurant', 'courier', 'hirer', 'worker', 'admin'] as const;
export type Role = (typeof ROLES)[number];
/** Roles anyone may sign up with; admins are made by operators, never self-registered. */
export const SELF_SERVICE_ROLES: readonly Role[] = ['customer', 'restaurant', 'courier', 'hirer', 'worker'];

export type AccountEvent =
  | DomainEvent<'AccountRegistered', { accountId: string; email: string; role: string; registeredAt: string }>
  | NotificationPreferencesEvent;
export type AccountCommand = { type: 'RegisterAccount'; data: { accountId: string; email: string; role: Role } };
export type Account =
  | { readonly status: 'none' }
  | {
      readonly status: 'active';
      readonly accountId: string;
      readonly email: string;
      readonly role: Role;
      /** Absent until the account first chooses: then the defaults (every channel on) apply. */
      readonly notifications?: NotificationPreferences;
    };

export const initialAccount = (): Account => ({ status: 'none' });

/** Emails are compared lower-cased and trimmed, as the seed requires. */
export const normalizeEmail = (email: string): string => email.trim().toLowerCase();

export function decideAccount(command: AccountCommand, state: Account, now: Date): AccountEvent[] {
  if (state.status !== 'none')
    throw new DomainError('conflict', 'ACCOUNT_EXISTS', `account ${command.data.accountId} already exists`);
  if (!ROLES.includes(command.data.role))
    throw new DomainError('invalid', 'INVALID_ROLE', `unknown role ${command.data.role}`);
  return [
    {
      type: 'AccountRegistered',
      data: { ...command.data, email: normalizeEmail(command.data.email), registeredAt: now.toISOString() },
    },
  ];
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
