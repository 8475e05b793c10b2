// Words of the identity contract that both sides of the CQRS split read: the account decides with them, the
// notifications read model applies them before an account has chosen anything.

export interface NotificationPreferences {
  readonly email: boolean;
  readonly push: boolean;
}

/** What an account that never chose gets: every channel on, so nothing is missed by default. */
export const DEFAULT_NOTIFICATION_PREFERENCES: NotificationPreferences = { email: true, push: true };
