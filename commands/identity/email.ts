import { DomainError } from '../decider.js';

// Email addresses as account keys: one account per address a person would read as the same, and no address that
// passes for another one. No library: Node's own Unicode data does it (String.prototype.normalize, and the
// regular expressions' \p{Default_Ignorable_Code_Point} and \p{Script=…}, which follow Node's ICU).

/** Characters that render as nothing: U+200B zero-width space, U+00AD soft hyphen, U+FEFF BOM, joiners, … */
const DEFAULT_IGNORABLE = /\p{Default_Ignorable_Code_Point}/gu;

/**
 * The form an address is stored and looked up in: compatibility forms folded (NFKC: full-width letters,
 * ligatures), lower-cased, invisible characters removed, trimmed, and without the root's trailing dot
 * (`example.com.` is `example.com`). Never throws: `acceptEmail` says whether a new account may use it.
 * Idempotent: normalizeEmail(normalizeEmail(x)) === normalizeEmail(x).
 */
export function normalizeEmail(email: string): string {
  const folded = email
    .replace(DEFAULT_IGNORABLE, '')
    .normalize('NFKC')
    .toLowerCase()
    // Lower-casing can take a string out of NFKC (U+0130 İ becomes i + U+0307), and NFKC can yield an ignorable.
    .normalize('NFKC')
    .replace(DEFAULT_IGNORABLE, '')
    .trimStart();
  // Trailing dots and whitespace together (`a@b.com. `, `a@b.com .`), by a loop: a regular expression anchored
  // at the end would try every start position.
  let end = folded.length;
  while (end > 0 && (folded[end - 1] === '.' || /\s/u.test(folded[end - 1]!))) end--;
  return folded.slice(0, end);
}

type Script = 'Latin' | 'Cyrillic' | 'Greek';
const SCRIPTS: readonly [Script, RegExp][] = [
  ['Latin', /\p{Script=Latin}/u],
  ['Cyrillic', /\p{Script=Cyrillic}/u],
  ['Greek', /\p{Script=Greek}/u],
];

/**
 * Latin letters that pass for a plain ASCII one: dotless ı and ȷ, the IPA and phonetic letters (ɑ, ɡ, ǀ, small
 * capitals), and an i or j carrying a combining dot (what U+0130 İ lower-cases to).
 */
const LATIN_LOOK_ALIKES = /[\u0131\u0237\u01C0-\u01C3\u0250-\u02AF\u1D00-\u1D2B]|[ij]\u0307/u;

/** Cyrillic and Greek letters that look like Latin ones: a label made of nothing else passes for a Latin word. */
const CYRILLIC_LIKE_LATIN = /^[асԁеһіјӏорԛѕԝхуьҽпгѵѡ]$/u;
const GREEK_LIKE_LATIN = /^[αογικνρτυχϲϳ]$/u;

export type EmailRefusal = 'MALFORMED' | 'CONFUSABLE_CHARACTER' | 'MIXED_SCRIPTS' | 'WHOLE_SCRIPT_CONFUSABLE';

const scriptsOf = (part: string): Set<Script> => {
  const found = new Set<Script>();
  for (const char of part) for (const [script, pattern] of SCRIPTS) if (pattern.test(char)) found.add(script);
  return found;
};

/** Whether every letter of a one-script Cyrillic or Greek part also reads as a Latin letter. */
const passesForLatin = (part: string, script: Script): boolean => {
  const lookAlike = script === 'Cyrillic' ? CYRILLIC_LIKE_LATIN : GREEK_LIKE_LATIN;
  const letters = [...part].filter((char) => /\p{L}/u.test(char));
  return letters.length > 0 && letters.every((char) => lookAlike.test(char));
};

/** Why a normalised address may not name a new account, or null when it may. */
export function emailRefusal(normalized: string): { reason: EmailRefusal; part?: string } | null {
  const at = normalized.indexOf('@');
  if (at <= 0 || at !== normalized.lastIndexOf('@') || at === normalized.length - 1) return { reason: 'MALFORMED' };
  const local = normalized.slice(0, at);
  const labels = normalized.slice(at + 1).split('.');
  if (labels.some((label) => label === '')) return { reason: 'MALFORMED' };
  // The local part is one unit (`ivan.иванов` mixes scripts too); the domain, label by label (IDNA's unit).
  const parts = [local, ...labels];
  for (const part of parts) {
    if (LATIN_LOOK_ALIKES.test(part)) return { reason: 'CONFUSABLE_CHARACTER', part };
    if (scriptsOf(part).size > 1) return { reason: 'MIXED_SCRIPTS', part };
  }
  // `аррӏе.com` is all Cyrillic, yet reads "apple": refused beside a Latin top-level label, as browsers show
  // such a domain in punycode. Under a Cyrillic or Greek TLD (`почта.рф`) a one-script label is ordinary.
  const tld = labels[labels.length - 1]!;
  if (scriptsOf(tld).has('Latin') || /^[\x20-\x7e]+$/.test(tld)) {
    for (const part of parts) {
      const [only, ...others] = [...scriptsOf(part)];
      if (others.length === 0 && (only === 'Cyrillic' || only === 'Greek') && passesForLatin(part, only))
        return { reason: 'WHOLE_SCRIPT_CONFUSABLE', part };
    }
  }
  return null;
}

const EXPLANATIONS: Record<EmailRefusal, string> = {
  MALFORMED: 'it is not one local part, one @ and a domain',
  CONFUSABLE_CHARACTER: 'it contains a letter made to look like another (such as a dotless ı)',
  MIXED_SCRIPTS: 'a part of it mixes Latin, Cyrillic or Greek letters',
  WHOLE_SCRIPT_CONFUSABLE: 'a part of it is written in Cyrillic or Greek letters that read as a Latin word',
};

/**
 * The normalised address a new account is registered under, or EMAIL_NOT_ACCEPTED (400) for one that passes for
 * another address. Idempotent on its own result.
 */
export function acceptEmail(email: string): string {
  const normalized = normalizeEmail(email);
  const refusal = emailRefusal(normalized);
  if (refusal) {
    throw new DomainError(
      'invalid',
      'EMAIL_NOT_ACCEPTED',
      `this email address cannot be used: ${EXPLANATIONS[refusal.reason]}`,
      refusal.part === undefined ? { reason: refusal.reason } : { reason: refusal.reason, part: refusal.part },
    );
  }
  return normalized;
}
