// Generated from the .avsc files of this folder by `npm run schemas:types` (schemas/codegen.ts): do not edit by hand.

/** An account was created. Credentials never travel in events: they stay in the write side's credentials table. */
export interface AccountRegistered {
  accountId: string;
  /** lower-cased and trimmed */
  email: string;
  /** customer, restaurant, courier, hirer, worker or admin */
  role: string;
  /** ISO-8601 UTC timestamp */
  registeredAt: string;
}

/** An account chose the channels it is notified on. The whole choice travels, so a consumer needs only the last event. */
export interface NotificationPreferencesUpdated {
  accountId: string;
  /** notify by email */
  email: boolean;
  /** notify by push notification */
  push: boolean;
  /** ISO-8601 UTC timestamp */
  updatedAt: string;
}

/** Every event type of the identity context, by name. */
export interface IdentityEventMap {
  AccountRegistered: AccountRegistered;
  NotificationPreferencesUpdated: NotificationPreferencesUpdated;
}

/** The events on topic identity.account. */
export type AccountEvent =
  | { readonly type: 'AccountRegistered'; readonly data: AccountRegistered }
  | { readonly type: 'NotificationPreferencesUpdated'; readonly data: NotificationPreferencesUpdated };

/** Every event of the identity context. */
export type IdentityEvent = AccountEvent;
