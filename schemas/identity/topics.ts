export const identityTopics = {
  'identity.account': ['AccountRegistered', 'NotificationPreferencesUpdated'],
} as const;
