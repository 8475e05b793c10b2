import bcrypt from 'bcryptjs';
import { describe, expect, it } from 'vitest';
import { checkPassword, hashPassword } from '../../../commands/identity/passwords.js';

const long = 'correct horse battery staple '.repeat(7); // 203 bytes
const first72 = Buffer.from(long).subarray(0, 72).toString();

describe('password hashes', () => {
  it('count every byte of a password longer than bcrypt’s 72', async () => {
    const stored = await hashPassword(long);
    expect(await checkPassword(long, stored)).toBe('match');
    expect(await checkPassword(first72, stored)).toBe('mismatch');
    expect(await checkPassword(`${first72}and then something else`, stored)).toBe('mismatch');
  });

  it('mark the scheme, so a plain bcrypt hash of before is still told apart and verified', async () => {
    expect(await hashPassword('short one')).toMatch(/^hmac-sha256\$\$2[ab]\$10\$/);
    const legacy = await bcrypt.hash('short one', 4);
    expect(await checkPassword('short one', legacy)).toBe('legacy');
    expect(await checkPassword('short two', legacy)).toBe('mismatch');
  });

  it('never match a legacy hash by a prefix: a password over 72 bytes is not compared with one', async () => {
    const legacy = await bcrypt.hash(first72, 4); // what the old code stored for `long`
    expect(await checkPassword(first72, legacy)).toBe('legacy');
    expect(await checkPassword(long, legacy)).toBe('mismatch');
  });
});
