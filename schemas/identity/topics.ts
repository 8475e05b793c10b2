export const identityTopics = {
  'identity.account': ['AccountRegistered'],
} as const;
