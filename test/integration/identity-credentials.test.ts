import { randomUUID } from 'node:crypto';
import bcrypt from 'bcryptjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openWriteSide, type WriteSide } from '../../commands/write-side.js';
import { createTestDatabase, testConfig, uniqueSuffix } from '../support/env.js';

// Passwords and emails through the identity handlers, on a database of their own: what is stored, what logs in.

let write: WriteSide;
let drop: () => Promise<void>;
beforeAll(async () => {
  const database = await createTestDatabase('credentials');
  drop = database.drop;
  write = await openWriteSide(testConfig(database.url));
});
afterAll(async () => {
  await write?.close();
  await drop?.();
});

const anonymous = () => ({ actor: 'anonymous', correlationId: randomUUID() });
const register = (email: string, password: string) =>
  write.identity.register({ email, password, role: 'customer' }, anonymous());
const storedHash = async (accountId: string): Promise<string> =>
  (await write.db('identity_credentials').where('account_id', accountId).first()).password_hash as string;

/** A row as the code before issue 12 wrote it: plain bcrypt of the password, email trimmed and lower-cased. */
async function legacyAccount(email: string, password: string): Promise<string> {
  const accountId = randomUUID();
  await write.db('identity_credentials').insert({
    account_id: accountId,
    email,
    password_hash: await bcrypt.hash(password, 4),
    role: 'customer',
  });
  return accountId;
}

describe('passwords longer than bcrypt’s 72 bytes', () => {
  const long = `${'correct horse battery staple '.repeat(7)}`; // 203 bytes
  const prefix = Buffer.from(long).subarray(0, 72).toString();

  it('never log in by their first 72 bytes, nor by another password sharing them', async () => {
    const email = `long.${uniqueSuffix()}@example.com`;
    const { accountId } = await register(email, long);
    expect(await write.identity.verify(email, long)).toMatchObject({ accountId });
    expect(await write.identity.verify(email, prefix)).toBeNull();
    expect(await write.identity.verify(email, `${prefix}something else entirely`)).toBeNull();
  });

  it('count every byte: two passwords differing only after byte 72 are different passwords', async () => {
    const email = `multibyte.${uniqueSuffix()}@example.com`;
    const password = `${'密码'.repeat(20)}A`; // 3-byte characters: 120 bytes before the last one
    const { accountId } = await register(email, password);
    expect(await write.identity.verify(email, password)).toMatchObject({ accountId });
    expect(await write.identity.verify(email, `${'密码'.repeat(20)}B`)).toBeNull();
  });

  it('keep verifying a legacy plain-bcrypt hash, and upgrade it to the pre-hashed scheme on the first login', async () => {
    const email = `legacy.${uniqueSuffix()}@example.com`;
    const accountId = await legacyAccount(email, 'an old short password');
    expect(await write.identity.verify(email, 'wrong password')).toBeNull();
    expect(await storedHash(accountId)).toMatch(/^\$2[aby]\$/);
    expect(await write.identity.verify(email, 'an old short password')).toMatchObject({ accountId });
    const upgraded = await storedHash(accountId);
    expect(upgraded).not.toMatch(/^\$2[aby]\$/);
    expect(await write.identity.verify(email, 'an old short password')).toMatchObject({ accountId });
    expect(await storedHash(accountId)).toBe(upgraded);
  });

  it('never log a legacy account in by a prefix: a legacy hash is only compared with passwords of ≤ 72 bytes', async () => {
    const email = `legacy-long.${uniqueSuffix()}@example.com`;
    // The old code hashed the first 72 bytes of whatever was sent.
    const accountId = await legacyAccount(email, prefix);
    expect(await write.identity.verify(email, long)).toBeNull();
    expect(await write.identity.verify(email, `${prefix}anything`)).toBeNull();
    expect(await storedHash(accountId)).toMatch(/^\$2[aby]\$/);
  });
});

describe('look-alike emails', () => {
  it('name the account they look like: default-ignorables, compatibility forms, case and a trailing dot fold away', async () => {
    const local = `ana.${uniqueSuffix()}`;
    const email = `${local}@example.com`;
    const { accountId } = await register(email, 'correct horse battery');
    const lookAlikes = [
      `${local}\u200B@example.com`, // zero-width space
      `${local.replace('.', '\u00AD.')}@example.com`, // soft hyphen
      `\uFEFF${local}@example.com`, // byte-order mark
      `${local}@example.com.`, // the root's trailing dot
      `${local}@EXAMPLE.COM`,
      `${local}@ｅｘａｍｐｌｅ.com`, // full-width letters (NFKC)
    ];
    for (const lookAlike of lookAlikes) {
      await expect(register(lookAlike, 'correct horse battery'), JSON.stringify(lookAlike)).rejects.toMatchObject({
        code: 'EMAIL_TAKEN',
      });
      expect(await write.identity.verify(lookAlike, 'correct horse battery'), JSON.stringify(lookAlike)).toMatchObject({
        accountId,
        email,
      });
    }
  });

  it.each([
    ['a Cyrillic е among Latin letters', 't\u0435st@example.com'],
    ['a dotless ı', 'l\u0131nda@example.com'],
    ['a Greek ο in a Latin domain label', 'user@go\u03BFgle.com'],
    ['a whole-script Cyrillic look-alike of a Latin label', 'user@\u0430\u0440\u0440\u04CF\u0435.com'],
  ])('refuses %s with EMAIL_NOT_ACCEPTED (400) and stores nothing', async (_name, email) => {
    const before = await write.db('identity_credentials').count({ n: '*' }).first();
    await expect(register(email, 'correct horse battery')).rejects.toMatchObject({
      kind: 'invalid',
      code: 'EMAIL_NOT_ACCEPTED',
    });
    expect(await write.db('identity_credentials').count({ n: '*' }).first()).toEqual(before);
  });

  it('keeps logging in an account stored under the old normalisation (trim and lower-case only)', async () => {
    const stored = `old.${uniqueSuffix()}@example.com.`;
    const accountId = await legacyAccount(stored, 'an old short password');
    expect(await write.identity.verify(stored, 'an old short password')).toMatchObject({ accountId });
  });
});
