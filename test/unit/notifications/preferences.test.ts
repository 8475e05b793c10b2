import { readFileSync } from 'node:fs';
import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { fold } from '../../../commands/decider.js';
import { type AccountCommand, type AccountEvent, accountDecider } from '../../../commands/identity/account.js';
import {
  DEFAULT_NOTIFICATION_PREFERENCES,
  evolveNotificationPreferences,
  type NotificationPreferencesCommand,
  type NotificationPreferencesEvent,
  preferencesOf,
} from '../../../commands/identity/preferences.js';
import type { Role } from '../../../runtime/roles.js';
import { schemaPath } from '../../../schemas/catalog.js';
import { given } from '../../support/decider.js';

const ACCOUNT_ID = 'a-1';
const NOW = new Date('2025-03-14T12:30:00.000Z');

const registered: AccountEvent = {
  type: 'AccountRegistered',
  data: {
    accountId: ACCOUNT_ID,
    email: 'lina@example.com',
    role: 'customer',
    registeredAt: '2025-03-14T09:00:00.000Z',
  },
};

const set = (email: boolean, push: boolean): NotificationPreferencesCommand => ({
  type: 'SetNotificationPreferences',
  data: { accountId: ACCOUNT_ID, email, push },
});
const updated = (email: boolean, push: boolean): NotificationPreferencesEvent => ({
  type: 'NotificationPreferencesUpdated',
  data: { accountId: ACCOUNT_ID, email, push, updatedAt: '2025-03-14T10:00:00.000Z' },
});
const updatedNow = (email: boolean, push: boolean): NotificationPreferencesEvent => ({
  type: 'NotificationPreferencesUpdated',
  data: { accountId: ACCOUNT_ID, email, push, updatedAt: NOW.toISOString() },
});

describe('the Account decider — RegisterAccount', () => {
  const register = (email: string, role: string = 'customer'): AccountCommand => ({
    type: 'RegisterAccount',
    data: { accountId: ACCOUNT_ID, email, role: role as Role },
  });

  it('registers an account with its email lower-cased and trimmed, stamped with the given time', () => {
    given(accountDecider)
      .when(register('  Lina@Example.COM '), { now: NOW })
      .thenDecides([
        {
          type: 'AccountRegistered',
          data: { accountId: ACCOUNT_ID, email: 'lina@example.com', role: 'customer', registeredAt: NOW.toISOString() },
        },
      ])
      .thenState({ status: 'active', accountId: ACCOUNT_ID, email: 'lina@example.com', role: 'customer' });
  });

  it('refuses to register the same account twice with ACCOUNT_EXISTS', () => {
    given(accountDecider, [registered])
      .when(register('lina@example.com'), { now: NOW })
      .thenRefuses('conflict', 'ACCOUNT_EXISTS');
  });

  it('refuses an unknown role with INVALID_ROLE', () => {
    given(accountDecider)
      .when(register('lina@example.com', 'wizard'), { now: NOW })
      .thenRefuses('invalid', 'INVALID_ROLE');
  });
});

describe('SetNotificationPreferences', () => {
  it('refuses an account that does not exist with ACCOUNT_NOT_FOUND', () => {
    given(accountDecider)
      .when(set(false, true), { now: NOW })
      .thenRefuses('not_found', 'ACCOUNT_NOT_FOUND')
      .withDetails({ accountId: ACCOUNT_ID });
  });

  it('starts from every channel on', () => {
    expect(DEFAULT_NOTIFICATION_PREFERENCES).toEqual({ email: true, push: true });
    expect(preferencesOf(fold(accountDecider, [registered]))).toEqual({ email: true, push: true });
    expect(preferencesOf(fold(accountDecider, []))).toEqual({ email: true, push: true });
  });

  it('records a change with the time it was made', () => {
    given(accountDecider, [registered])
      .when(set(false, true), { now: NOW })
      .thenDecides([updatedNow(false, true)]);
  });

  it('appends nothing when the defaults are set explicitly', () => {
    given(accountDecider, [registered]).when(set(true, true), { now: NOW }).thenNothing();
  });

  it('appends nothing when the same values are set again', () => {
    const account = given(accountDecider, [registered, updated(false, false)]);
    account.when(set(false, false), { now: NOW }).thenNothing();
    account.when(set(true, false), { now: NOW }).thenDecides([updatedNow(true, false)]);
  });

  it('allows turning every channel back on after turning them off', () => {
    given(accountDecider, [registered, updated(false, false)])
      .when(set(true, true), { now: NOW })
      .thenDecides([
        {
          type: 'NotificationPreferencesUpdated',
          data: { accountId: ACCOUNT_ID, email: true, push: true, updatedAt: NOW.toISOString() },
        },
      ]);
  });
});

describe('evolveNotificationPreferences', () => {
  it('keeps the rest of the account and takes the last choice', () => {
    given(accountDecider, [registered, updated(false, true), updated(true, false)]).thenState({
      status: 'active',
      accountId: ACCOUNT_ID,
      email: 'lina@example.com',
      role: 'customer',
      notifications: { email: true, push: false },
    });
  });

  it('leaves an account that does not exist as it is', () => {
    expect(evolveNotificationPreferences(accountDecider.initialState(), updated(false, false))).toEqual({
      status: 'none',
    });
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
    const [event] = accountDecider.decide(set(false, true), fold(accountDecider, [registered]), { now: NOW });
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
