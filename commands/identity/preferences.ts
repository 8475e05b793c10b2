import type { AccountEvent } from '../../schemas/identity/events.js';
import { DEFAULT_NOTIFICATION_PREFERENCES, type NotificationPreferences } from '../../schemas/identity/vocabulary.js';
import { type DecideContext, DomainError, type NoStream } from '../decider.js';

// Notification preferences live on the Account aggregate (stream `account-<accountId>`): they are the
// account's own choice and need no other aggregate's state. This module holds the command and the pure
// decide/evolve pair for that one choice; account.ts's decider delegates SetNotificationPreferences and
// NotificationPreferencesUpdated to the functions below.

export { DEFAULT_NOTIFICATION_PREFERENCES, type NotificationPreferences };

/** The contract's event (generated from schemas/identity/NotificationPreferencesUpdated.avsc). */
export type NotificationPreferencesEvent = Extract<AccountEvent, { type: 'NotificationPreferencesUpdated' }>;

export type NotificationPreferencesCommand = {
  type: 'SetNotificationPreferences';
  data: { accountId: string; email: boolean; push: boolean };
};

/**
 * The part of the Account state this module reads and writes. account.ts's Account satisfies it structurally
 * (an absent `notifications` means the defaults).
 */
export type PreferencesState =
  | NoStream
  | { readonly status: 'active'; readonly notifications?: NotificationPreferences };

export const preferencesOf = (state: PreferencesState): NotificationPreferences =>
  state.status === 'active'
    ? (state.notifications ?? DEFAULT_NOTIFICATION_PREFERENCES)
    : DEFAULT_NOTIFICATION_PREFERENCES;

export function decideNotificationPreferences(
  command: NotificationPreferencesCommand,
  state: PreferencesState,
  { now }: DecideContext,
): NotificationPreferencesEvent[] {
  const { accountId, email, push } = command.data;
  if (state.status === 'none') {
    throw new DomainError('not_found', 'ACCOUNT_NOT_FOUND', `account ${accountId} does not exist`, { accountId });
  }
  const current = preferencesOf(state);
  // Setting what is already set is a no-op: a client retrying or re-saving a form appends nothing.
  if (current.email === email && current.push === push) return [];
  return [{ type: 'NotificationPreferencesUpdated', data: { accountId, email, push, updatedAt: now.toISOString() } }];
}

/** The Account after a NotificationPreferencesUpdated; any other part of the state is kept as it is. */
export function evolveNotificationPreferences<S extends PreferencesState>(
  state: S,
  event: NotificationPreferencesEvent,
): S {
  // Preferences before registration cannot happen in a valid stream; ignoring them keeps the fold total.
  if (state.status === 'none') return state;
  return { ...state, notifications: { email: event.data.email, push: event.data.push } };
}
