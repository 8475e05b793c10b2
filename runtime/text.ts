// What text may be accepted and stored. A JavaScript string is UTF-16 and may hold a lone surrogate, which has no
// UTF-8 encoding: written to Avro it becomes bytes that strict decoders (Python, Java, Go) refuse. NUL cannot be
// stored in a PostgreSQL text column at all. Other control characters are never legitimate in what clients type.

/** Which text is refused: `client` (what requests may carry) or `stored` (what the event log may keep). */
export type TextPolicy = 'client' | 'stored';

export interface TextProblem {
  /** The JSON pointer of the string (or of the object key) that is refused, `''` for the value itself. */
  readonly path: string;
  readonly problem: 'lone surrogate' | 'control character';
  /** The offending UTF-16 code unit as `U+XXXX`. */
  readonly codeUnit: string;
}

const hex = (c: number): string => `U+${c.toString(16).toUpperCase().padStart(4, '0')}`;

/** Tab, line feed and carriage return are the only control characters a client's text may hold. */
const allowedControl = (c: number): boolean => c === 0x09 || c === 0x0a || c === 0x0d;

/**
 * The first refused code unit of `s`, or null: lone surrogates always, NUL always, and under the `client` policy
 * every other C0/C1 control character (and DEL) except tab, line feed and carriage return. One pass, O(length).
 */
export function problemIn(s: string, policy: TextPolicy): Omit<TextProblem, 'path'> | null {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x20 && c < 0x7f) continue;
    if (c >= 0xd800 && c <= 0xdfff) {
      if (c <= 0xdbff) {
        const next = s.charCodeAt(i + 1); // NaN past the end
        if (next >= 0xdc00 && next <= 0xdfff) {
          i++;
          continue;
        }
      }
      return { problem: 'lone surrogate', codeUnit: hex(c) };
    }
    const control = c < 0x20 || (c >= 0x7f && c <= 0x9f);
    if (!control) continue;
    if (c === 0 || (policy === 'client' && !allowedControl(c)))
      return { problem: 'control character', codeUnit: hex(c) };
  }
  return null;
}

interface Frame {
  readonly value: unknown;
  readonly key: string | null;
  readonly parent: Frame | null;
}

const escapeToken = (key: string): string => key.replace(/~/g, '~0').replace(/\//g, '~1');

function pointerOf(frame: Frame, lastKey?: string): string {
  const keys: string[] = lastKey === undefined ? [] : [lastKey];
  for (let f: Frame | null = frame; f?.key != null; f = f.parent) keys.push(f.key);
  return keys
    .reverse()
    .map((k) => `/${escapeToken(k)}`)
    .join('');
}

/**
 * The first refused string anywhere in `value` (strings, array items, object keys and values), or null. Iterative
 * with parent links, so it is O(size) whatever the nesting: a path is built only for the string it reports.
 * Byte arrays (`Buffer`, typed arrays) are not text and are skipped.
 */
export function findInvalidText(value: unknown, policy: TextPolicy): TextProblem | null {
  const stack: Frame[] = [{ value, key: null, parent: null }];
  for (let frame = stack.pop(); frame; frame = stack.pop()) {
    const v = frame.value;
    if (typeof v === 'string') {
      const found = problemIn(v, policy);
      if (found) return { path: pointerOf(frame), ...found };
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push({ value: v[i], key: String(i), parent: frame });
    } else if (typeof v === 'object' && v !== null && !ArrayBuffer.isView(v) && !(v instanceof Date)) {
      const keys = Object.keys(v);
      for (let i = keys.length - 1; i >= 0; i--) {
        const key = keys[i]!;
        const found = problemIn(key, policy);
        if (found) return { path: pointerOf(frame, key), ...found };
        stack.push({ value: (v as Record<string, unknown>)[key], key, parent: frame });
      }
    }
  }
  return null;
}
