import { readFileSync } from 'node:fs';
import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { type Account, type AccountEvent, evolveAccount, initialAccount } from '../../../commands/identity/account.js';
import {
  DEFAULT_NOTIFICATION_PREFERENCES,
  decideNotificationPreferences,
  evolveNotificationPreferences,
  type NotificationPreferencesCommand,
  type NotificationPreferencesEvent,
  preferencesOf,
} from '../../../commands/identity/preferences.js';
import { schemaPath } from '../../../schemas/catalog.js';
import { NOW, refusal } from '../ordering/fixtures.js';

const ACCOUNT_ID = 'a-1';

const registered: AccountEvent = {
  type: 'AccountRegistered',
  data: {
    accountId: ACCOUNT_ID,
    email: 'lina@example.com',
    role: 'customer',
    registeredAt: '2025-03-14T09:00:00.000Z',
  },
};

// The Account fold as account.ts will have it once the preferences event joins its union.
type Event = AccountEvent | NotificationPreferencesEvent;
const evolve = (state: Account, event: Event): Account =>
  event.type === 'NotificationPreferencesUpdated'
    ? evolveNotificationPreferences(state, event)
    : evolveAccount(state, event);
const given = (events: readonly Event[]): Account => events.reduce(evolve, initialAccount());

const set = (email: boolean, push: boolean): NotificationPreferencesCommand => ({
  type: 'SetNotificationPreferences',
  data: { accountId: ACCOUNT_ID, email, push },
});
const updated = (email: boolean, push: boolean): NotificationPreferencesEvent => ({
  type: 'NotificationPreferencesUpdated',
  data: { accountId: ACCOUNT_ID, email, push, updatedAt: '2025-03-14T10:00:00.000Z' },
});

describe('SetNotificationPreferences', () => {
  it('refuses an account that does not exist with ACCOUNT_NOT_FOUND', () => {
    const error = refusal(() => decideNotificationPreferences(set(false, true), given([]), NOW));
    expect(error.code).toBe('ACCOUNT_NOT_FOUND');
    expect(error.details).toEqual({ accountId: ACCOUNT_ID });
  });

  it('starts from every channel on', () => {
    expect(DEFAULT_NOTIFICATION_PREFERENCES).toEqual({ email: true, push: true });
    expect(preferencesOf(given([registered]))).toEqual({ email: true, push: true });
    expect(preferencesOf(given([]))).toEqual({ email: true, push: true });
  });

  it('records a change with the time it was made', () => {
    expect(decideNotificationPreferences(set(false, true), given([registered]), NOW)).toEqual([
      {
        type: 'NotificationPreferencesUpdated',
        data: { accountId: ACCOUNT_ID, email: false, push: true, updatedAt: NOW.toISOString() },
      },
    ]);
  });

  it('appends nothing when the defaults are set explicitly', () => {
    expect(decideNotificationPreferences(set(true, true), given([registered]), NOW)).toEqual([]);
  });

  it('appends nothing when the same values are set again', () => {
    const state = given([registered, updated(false, false)]);
    expect(decideNotificationPreferences(set(false, false), state, NOW)).toEqual([]);
    expect(decideNotificationPreferences(set(true, false), state, NOW)).toHaveLength(1);
  });

  it('allows turning every channel back on after turning them off', () => {
    const state = given([registered, updated(false, false)]);
    expect(decideNotificationPreferences(set(true, true), state, NOW)).toEqual([
      {
        type: 'NotificationPreferencesUpdated',
        data: { accountId: ACCOUNT_ID, email: true, push: true, updatedAt: NOW.toISOString() },
      },
    ]);
  });
});

describe('evolveNotificationPreferences', () => {
  it('keeps the rest of the account and takes the last choice', () => {
    const state = given([registered, updated(false, true), updated(true, false)]);
    expect(state).toEqual({
      status: 'active',
      accountId: ACCOUNT_ID,
      email: 'lina@example.com',
      role: 'customer',
      notifications: { email: true, push: false },
    });
  });

  it('leaves an account that does not exist as it is', () => {
    expect(evolveNotificationPreferences(initialAccount(), updated(false, false))).toEqual({ status: 'none' });
  });
});

describe('the NotificationPreferencesUpdated schema', () => {
  const definition = JSON.parse(
    readFileSync(schemaPath('identity', 'NotificationPreferencesUpdated'), 'utf8'),
  ) as avro.schema.RecordType;
  const type = avro.Type.forSchema(definition);

  it('is a record named after its file in namespace ledgerline.identity', () => {
    expect(type.name).toBe('ledgerline.identity.NotificationPreferencesUpdated');
  });

  it('encodes what the decider emits, with no field the schema lacks, and reads it back', () => {
    const [event] = decideNotificationPreferences(set(false, true), given([registered]), NOW);
    const problems: string[] = [];
    const valid = type.isValid(event!.data, {
      noUndeclaredFields: true,
      errorHook: (path) => problems.push(path.join('.')),
    });
    expect(problems).toEqual([]);
    expect(valid).toBe(true);
    expect(type.fromBuffer(type.toBuffer(event!.data))).toEqual(event!.data);
  });
});
