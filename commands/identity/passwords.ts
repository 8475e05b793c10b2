import { createHmac } from 'node:crypto';
import bcrypt from 'bcryptjs';

// Password hashes. bcrypt reads only the first 72 bytes of its input and ignores the rest, so a password is
// pre-hashed first: bcrypt(base64(HMAC-SHA-256(KEY, password))). Every byte of any length then counts, and the
// input bcrypt sees is 44 ASCII characters (base64: no NUL byte, which some bcrypt implementations stop at).
//
// The HMAC key is not a secret: it makes the pre-hash ours alone, so unsalted SHA-256 hashes leaked elsewhere
// cannot be tried against our bcrypt hashes directly ("hash shucking"). A secret pepper would add protection for a
// stolen database without its key, at the price of a key to keep and rotate; not done here.
//
// Hashes written before this scheme are plain bcrypt of the password (truncated at 72 bytes). They are stored as
// bcrypt writes them (`$2a$`/`$2b$`…); pre-hashed ones carry the PREHASHED mark in front. A legacy hash is compared
// only with a password of at most 72 bytes, so a long password never matches by its prefix, and it is replaced by
// a pre-hashed one on the first successful login (IdentityCommands.verify).

export const BCRYPT_ROUNDS = 10; // the seed's number; ~50-100 ms per hash on these machines

/** Marks a stored hash as bcrypt of the pre-hashed password. */
const PREHASHED = 'hmac-sha256$';
const PREHASH_KEY = 'ledgerline/identity/password/v1';

const prehash = (password: string): string =>
  createHmac('sha256', PREHASH_KEY).update(password, 'utf8').digest('base64');

export async function hashPassword(password: string): Promise<string> {
  return PREHASHED + (await bcrypt.hash(prehash(password), BCRYPT_ROUNDS));
}

/** A hash no password matches in practice, compared when there is nothing else to compare: equal work either way. */
export const DUMMY_HASH = PREHASHED + bcrypt.hashSync(prehash('not-a-real-password'), BCRYPT_ROUNDS);

/** `legacy`: the password matched a plain bcrypt hash, which the caller should replace with hashPassword's. */
export type PasswordCheck = 'match' | 'legacy' | 'mismatch';

export async function checkPassword(password: string, stored: string): Promise<PasswordCheck> {
  if (stored.startsWith(PREHASHED)) {
    return (await bcrypt.compare(prehash(password), stored.slice(PREHASHED.length))) ? 'match' : 'mismatch';
  }
  if (bcrypt.truncates(password)) {
    // bcrypt would compare the first 72 bytes only: never a match, after the same work as a real comparison.
    await bcrypt.compare(prehash(password), DUMMY_HASH.slice(PREHASHED.length));
    return 'mismatch';
  }
  return (await bcrypt.compare(password, stored)) ? 'legacy' : 'mismatch';
}
