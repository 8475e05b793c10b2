import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type AccountCommand, accountDecider } from '../../../commands/identity/account.js';
import { acceptEmail, emailRefusal, normalizeEmail } from '../../../commands/identity/email.js';
import { given } from '../../support/decider.js';

const NOW = new Date('2025-03-14T12:30:00.000Z');
const register = (email: string): AccountCommand => ({
  type: 'RegisterAccount',
  data: { accountId: 'a-1', email, role: 'customer' },
});

describe('normalizeEmail', () => {
  it.each([
    ['surrounding whitespace and case', '  Lina@Example.COM ', 'lina@example.com'],
    ['a zero-width space', 'li\u200Bna@example.com', 'lina@example.com'],
    ['a soft hyphen', 'li\u00ADna@example.com', 'lina@example.com'],
    ['a byte-order mark', '\uFEFFlina@example.com', 'lina@example.com'],
    ['a zero-width joiner in the domain', 'lina@exa\u200Dmple.com', 'lina@example.com'],
    ['the root’s trailing dot', 'lina@example.com.', 'lina@example.com'],
    ['full-width letters (NFKC)', 'ｌｉｎａ@example.com', 'lina@example.com'],
    ['a ligature (NFKC)', 'ﬁona@example.com', 'fiona@example.com'],
    ['a decomposed accent (composed by NFKC)', 'rene\u0301@example.com', 'ren\u00E9@example.com'],
    ['a capital İ (lower-cases to i + combining dot, kept)', 'İnci@example.com', 'i\u0307nci@example.com'],
  ])('folds %s', (_name, input, expected) => {
    expect(normalizeEmail(input)).toBe(expected);
  });

  it('leaves an ASCII address that was trimmed and lower-cased as it is (what was stored before issue 12)', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[a-z0-9._+-]{1,20}@[a-z0-9-]{1,20}\.[a-z]{2,6}$/),
        (email) => normalizeEmail(email) === email,
      ),
    );
  });

  // Any text, and strings of the characters where folding steps interact (case mappings that leave NFKC,
  // ignorables NFKC makes, dots and spaces at the end).
  const tricky = fc
    .array(
      fc.constantFrom(
        ...'aeiIİı\u0307\u0301\u200B\u200D\u00AD\uFEFF\uFFA0\u3164ﬁＥ@＠. \u0435\u03BFßẞΣς\u0345ǅ\u2126\u212A',
      ),
      { maxLength: 12 },
    )
    .map((chars) => chars.join(''));

  it('is idempotent, and so is acceptEmail on what it accepts', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'grapheme', maxLength: 30 }), tricky), (email) => {
        const once = normalizeEmail(email);
        expect(normalizeEmail(once)).toBe(once);
        if (emailRefusal(once) === null) expect(acceptEmail(once)).toBe(once);
      }),
      { numRuns: 5000 },
    );
  });
});

describe('acceptEmail', () => {
  it.each([
    'lina@example.com',
    'renée.dupont@exemple.fr', // accented Latin
    'иван@почта.рф', // all Cyrillic, Cyrillic TLD
    'хор@почта.рф', // Cyrillic letters that look Latin, under a Cyrillic TLD
    'δοκιμή@παράδειγμα.ελ', // all Greek
    '用户@例子.广告', // Han
    'ユーザー@example.jp', // Katakana local part beside a Latin domain
    'user+tag@mail.example.co.uk',
  ])('accepts %s', (email) => {
    expect(acceptEmail(email)).toBe(normalizeEmail(email));
  });

  it.each([
    ['a Cyrillic е among Latin letters', 't\u0435st@example.com', 'MIXED_SCRIPTS', 't\u0435st'],
    ['a Greek ο in a Latin domain label', 'user@go\u03BFgle.com', 'MIXED_SCRIPTS', 'go\u03BFgle'],
    ['Latin and Cyrillic in one local part across a dot', 'ivan.иванов@example.com', 'MIXED_SCRIPTS', 'ivan.иванов'],
    ['a dotless ı', 'l\u0131nda@example.com', 'CONFUSABLE_CHARACTER', 'l\u0131nda'],
    ['a capital İ (i + combining dot once lower-cased)', 'İnci@example.com', 'CONFUSABLE_CHARACTER', 'i\u0307nci'],
    ['a Latin alpha ɑ', 'p\u0251ypal@example.com', 'CONFUSABLE_CHARACTER', 'p\u0251ypal'],
    ['an all-Cyrillic label reading “apple” beside .com', 'user@аррӏе.com', 'WHOLE_SCRIPT_CONFUSABLE', 'аррӏе'],
    ['an all-Cyrillic local part reading “ape”', 'аре@example.com', 'WHOLE_SCRIPT_CONFUSABLE', 'аре'],
  ])('refuses %s with EMAIL_NOT_ACCEPTED', (_name, email, reason, part) => {
    expect(() => acceptEmail(email)).toThrowError(
      expect.objectContaining({ kind: 'invalid', code: 'EMAIL_NOT_ACCEPTED', details: { reason, part } }),
    );
  });

  it.each([
    ['two @ once folded (a full-width ＠)', 'a＠b@example.com'],
    ['an empty domain label', 'a@example..com'],
    ['no local part', '@example.com'],
  ])('refuses %s as MALFORMED', (_name, email) => {
    expect(() => acceptEmail(email)).toThrowError(
      expect.objectContaining({ code: 'EMAIL_NOT_ACCEPTED', details: { reason: 'MALFORMED' } }),
    );
  });
});

describe('the Account decider registers the normalised address, and no look-alike', () => {
  it('registers the folded form of an address with invisible characters', () => {
    given(accountDecider)
      .when(register('\uFEFFLi\u00ADna\u200B@Example.com.'), { now: NOW })
      .thenDecidesMatching([{ type: 'AccountRegistered', data: { email: 'lina@example.com' } }]);
  });

  it('refuses a mixed-script address with EMAIL_NOT_ACCEPTED', () => {
    given(accountDecider)
      .when(register('t\u0435st@example.com'), { now: NOW })
      .thenRefuses('invalid', 'EMAIL_NOT_ACCEPTED')
      .withDetails({ reason: 'MIXED_SCRIPTS', part: 't\u0435st' });
  });
});
