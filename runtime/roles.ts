// The platform's roles. Every account has one (identity's AccountRegistered carries it), the gateway's token
// carries it, and each context's routes declare which roles they serve: a platform word, not one context's.

/** Every role an account may have; the contexts' routes each declare which of them they serve. */
export const ROLES = ['customer', 'restaurant', 'courier', 'hirer', 'worker', 'admin'] as const;
export type Role = (typeof ROLES)[number];
/** Roles anyone may sign up with; admins are made by operators, never self-registered. */
export const SELF_SERVICE_ROLES: readonly Role[] = ['customer', 'restaurant', 'courier', 'hirer', 'worker'];
