import { DomainError, type DomainEvent } from '../decider.js';

export const ROLES = ['customer', 'restaurant', 'courier', 'hirer', 'worker', 'admin'] as const;
export type Role = (typeof ROLES)[number];
/** Roles anyone may sign up with; admins are made by operators, never self-registered. */
export const SELF_SERVICE_ROLES: readonly Role[] = ['customer', 'restaurant', 'courier', 'hirer', 'worker'];

export type AccountEvent = DomainEvent<
  'AccountRegistered',
  { accountId: string; email: string; role: string; registeredAt: string }
>;
export type AccountCommand = { type: 'RegisterAccount'; data: { accountId: string; email: string; role: Role } };
export type Account =
  | { readonly status: 'none' }
  | { readonly status: 'active'; readonly accountId: string; readonly email: string; readonly role: Role };

export const initialAccount = (): Account => ({ status: 'none' });

/** Emails are compared lower-cased and trimmed, as the seed requires. */
export const normalizeEmail = (email: string): string => email.trim().toLowerCase();

export function decideAccount(command: AccountCommand, state: Account, now: Date): AccountEvent[] {
  if (state.status !== 'none')
    throw new DomainError('ACCOUNT_EXISTS', `account ${command.data.accountId} already exists`);
  if (!ROLES.includes(command.data.role)) throw new DomainError('INVALID_ROLE', `unknown role ${command.data.role}`);
  return [
    {
      type: 'AccountRegistered',
      data: { ...command.data, email: normalizeEmail(command.data.email), registeredAt: now.toISOString() },
    },
  ];
}

export function evolveAccount(_state: Account, event: AccountEvent): Account {
  const { accountId, email, role } = event.data;
  return { status: 'active', accountId, email, role: role as Role };
}
