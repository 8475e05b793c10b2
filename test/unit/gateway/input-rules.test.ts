import fc from 'fast-check';
import Fastify, { type FastifySchema } from 'fastify';
import { describe, expect, it } from 'vitest';
import { errorHandler } from '../../../gateway/errors.js';
import { EMAIL_PATTERN, email, position } from '../../../gateway/schema-parts.js';
import { refuseInvalidText, validatorCompiler, withSafeIntegers } from '../../../gateway/validation.js';
import { decodeCursor, encodeCursor, InvalidCursorError } from '../../../queries/cursor.js';
import { isCalendarDate, isIsoInstant } from '../../../runtime/dates.js';
import { findInvalidText, problemIn } from '../../../runtime/text.js';

// The pure rules the gateway applies before anything reaches a handler: text, dates, integers, the email pattern.

/** The shortest of three runs, in ms: one run may be slowed by the JIT, a collection or a busy machine. */
const fastestOf3 = (work: () => unknown): number => {
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 3; i++) {
    const started = performance.now();
    work();
    best = Math.min(best, performance.now() - started);
  }
  return best;
};

/** The validator as Fastify calls it for one part of a request. */
const compile = (schema: object, httpPart: string) => validatorCompiler({ schema: schema as FastifySchema, httpPart });

/** Any UTF-16 code unit, surrogates often (fast-check's 'binary' unit takes seconds to set up). */
const codeUnit = fc
  .oneof(fc.integer({ min: 0xd800, max: 0xdfff }), fc.integer({ min: 0, max: 0xffff }))
  .map((c) => String.fromCharCode(c));

describe('text rules', () => {
  it.each([
    ['a lone high surrogate', 'a\ud800b', 'lone surrogate', 'U+D800'],
    ['a lone high surrogate at the end', 'ab\udbff', 'lone surrogate', 'U+DBFF'],
    ['a lone low surrogate', '\udc00', 'lone surrogate', 'U+DC00'],
    ['two high surrogates', '\ud83d\ud83d', 'lone surrogate', 'U+D83D'],
    ['NUL', 'a\u0000', 'control character', 'U+0000'],
    ['ESC', '\u001b', 'control character', 'U+001B'],
    ['DEL', '\u007f', 'control character', 'U+007F'],
    ['a C1 control', '\u009b', 'control character', 'U+009B'],
  ])('refuses %s from clients', (_what, text, problem, codeUnit) => {
    expect(problemIn(text, 'client')).toEqual({ problem, codeUnit });
  });

  it.each([
    ['emoji (a surrogate pair)', '😀👩‍🍳'],
    ['RTL text and overrides', '\u202eمرحبا\u202c שלום'],
    ['combining marks', 'e\u0301\u0302'],
    ['tab, line feed, carriage return', 'a\tb\nc\r'],
    ['non-characters and BOM (valid Unicode scalars)', '\ufeff\uffff\ufffe'],
    ['line and paragraph separators', '\u2028\u2029'],
  ])('accepts %s', (_what, text) => {
    expect(problemIn(text, 'client')).toBeNull();
    expect(problemIn(text, 'stored')).toBeNull();
  });

  it('keeps to NUL and lone surrogates for what is stored (other controls are valid UTF-8)', () => {
    expect(problemIn('\u001b\u0007', 'stored')).toBeNull();
    expect(problemIn('\u0000', 'stored')).toMatchObject({ problem: 'control character' });
  });

  it('agrees with String#isWellFormed on surrogates, for any code units', () => {
    fc.assert(
      fc.property(fc.string({ unit: codeUnit }), (s) => {
        const isControl = (ch: string) =>
          ch.charCodeAt(0) < 0x20 || (ch.charCodeAt(0) >= 0x7f && ch.charCodeAt(0) <= 0x9f);
        const noControls = [...s].filter((ch) => !isControl(ch)).join('');
        const wellFormed = (noControls as unknown as { isWellFormed(): boolean }).isWellFormed();
        expect(problemIn(noControls, 'client') === null).toBe(wellFormed);
      }),
      { numRuns: 1000 },
    );
  });

  it('names the JSON pointer of the refused string, keys included', () => {
    expect(findInvalidText({ a: [{ b: 'ok' }, { 'c/d': 'x\u0000' }] }, 'client')).toMatchObject({ path: '/a/1/c~1d' });
    expect(findInvalidText({ 'bad\ud800key': 1 }, 'client')).toMatchObject({ path: '/bad\ud800key' });
    expect(findInvalidText('\u0000', 'client')).toMatchObject({ path: '' });
    expect(findInvalidText({ a: [1, true, null, { b: 'fine' }] }, 'client')).toBeNull();
    expect(findInvalidText({ bytes: Buffer.from([0, 0xed, 0xa0, 0x80]) }, 'stored')).toBeNull();
  });

  it('walks deep nesting iteratively, in linear time', () => {
    let deep: unknown = 'x\u0000';
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(findInvalidText(deep, 'client')?.path).toBe('/0'.repeat(100_000));
    expect(fastestOf3(() => findInvalidText(deep, 'client'))).toBeLessThan(500);
  });
});

describe('the text guard every route gets', () => {
  const app = async () => {
    const fastify = Fastify();
    fastify.setErrorHandler(errorHandler);
    fastify.setValidatorCompiler(validatorCompiler);
    fastify.addHook('preValidation', refuseInvalidText);
    fastify.post('/p/:id', async (request) => ({ ok: true, body: request.body }));
    return fastify;
  };

  it.each([
    ['the body', { url: '/p/x', payload: '{"a":{"b":"\\ud800"}}' }, 'body', '/a/b'],
    ['the query string', { url: '/p/x?q=%00' }, 'querystring', '/q'],
    ['a path parameter', { url: '/p/a%1Bb' }, 'params', '/id'],
  ])('answers 400 INVALID_TEXT for bad text in %s, with its place', async (_what, req, location, path) => {
    const response = await (await app()).inject({
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      payload: '{}',
      ...req,
    });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ error: { code: 'INVALID_TEXT', details: { location, path } } });
  });
});

describe('dates in the database’s domain', () => {
  it.each(['2024-02-29', '2023-12-31', '0001-01-01', '9999-12-31'])('%s is a calendar date', (d) => {
    expect(isCalendarDate(d)).toBe(true);
  });
  it.each(['2024-02-30', '2023-02-29', '9999-99-99', '0000-01-01', '2024-13-01', '2024-00-10', '2024-1-1', '20240101'])(
    '%s is not',
    (d) => expect(isCalendarDate(d)).toBe(false),
  );

  it('agrees with Date on every day of years 1-9999 (sampled)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 9999 }),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 31 }),
        (y, m, d) => {
          const text = `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
          const date = new Date(0);
          date.setUTCFullYear(y, m - 1, d);
          expect(isCalendarDate(text)).toBe(date.getUTCDate() === d);
        },
      ),
    );
  });

  it.each(['2024-05-01T12:00:00.000Z', '0001-01-01T00:00:00.000Z', '9999-12-31T23:59:59.999Z'])(
    '%s is an instant',
    (t) => expect(isIsoInstant(t)).toBe(true),
  );
  it.each([
    '1',
    'May 2020',
    '+275760-09-13T00:00:00.000Z',
    '-271821-04-20T00:00:00.000Z',
    '0000-01-01T00:00:00.000Z',
    '2024-05-01T12:00:00Z',
    '2024-02-30T00:00:00.000Z',
    '2024-05-01T24:00:00.000Z',
    '2024-05-01 12:00:00.000Z',
  ])('%s is not', (t) => expect(isIsoInstant(t)).toBe(false));
});

describe('cursors', () => {
  it('round-trips what the API hands out', () => {
    expect(decodeCursor(encodeCursor('2024-05-01T12:00:00.000Z', 'order-1'))).toEqual([
      '2024-05-01T12:00:00.000Z',
      'order-1',
    ]);
  });

  it.each([
    ['a time PostgreSQL does not read', encodeCursor('May 2020', 'x')],
    ['a year past 9999', encodeCursor('+275760-09-13T00:00:00.000Z', 'x')],
    ['NUL in the id', encodeCursor('2024-05-01T12:00:00.000Z', 'x\u0000')],
    ['a lone surrogate in the id', encodeCursor('2024-05-01T12:00:00.000Z', '\ud800')],
    ['an empty id', encodeCursor('2024-05-01T12:00:00.000Z', '')],
    ['an overlong id', encodeCursor('2024-05-01T12:00:00.000Z', 'x'.repeat(300))],
    ['not JSON', 'bm9wZQ'],
    ['an overlong cursor', 'A'.repeat(2000)],
  ])('refuses %s as INVALID_CURSOR', (_what, cursor) => {
    expect(() => decodeCursor(cursor)).toThrow(InvalidCursorError);
  });
});

describe('integers every route takes', () => {
  it('bounds every integer of a schema to the safe range, leaving tighter bounds and the original alone', () => {
    const schema = {
      type: 'object',
      properties: {
        a: { type: 'integer' },
        b: { type: 'integer', minimum: 1, maximum: 100 },
        c: { type: ['integer', 'null'], maximum: 1e30 },
        d: { type: 'array', items: { type: 'integer' } },
        e: { type: 'number' },
        default: { type: 'integer' },
      },
      required: ['a'],
    };
    const copy = withSafeIntegers(schema) as typeof schema & { properties: Record<string, Record<string, unknown>> };
    const SAFE = Number.MAX_SAFE_INTEGER;
    expect(copy.properties.a).toMatchObject({ minimum: -SAFE, maximum: SAFE });
    expect(copy.properties.b).toMatchObject({ minimum: 1, maximum: 100 });
    expect(copy.properties.c).toMatchObject({ maximum: SAFE });
    expect((copy.properties.d as { items: unknown }).items).toMatchObject({ maximum: SAFE });
    expect(copy.properties.e).toEqual({ type: 'number' });
    expect(copy.properties.default).toMatchObject({ maximum: SAFE }); // a property named like a data keyword
    expect(schema.properties.a).toEqual({ type: 'integer' });
  });

  it('refuses 1e30 and 2^53 where an integer is expected, accepts 2^53-1', () => {
    const validate = compile({ type: 'object', properties: { after: position } }, 'querystring');
    expect(validate({ after: '1e30' })).toBe(false);
    expect(validate({ after: String(2 ** 53) })).toBe(false);
    expect(validate({ after: String(Number.MAX_SAFE_INTEGER) })).toBe(true);
  });
});

describe('the email pattern', () => {
  const FORMER = /^\s*[^\s@]+@[^\s@]+\.[^\s@]+\s*$/u;
  const linear = new RegExp(EMAIL_PATTERN, 'u');

  it('takes exactly the strings the former pattern took', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('a', '@', '.', ' ', '\t', 'é'), maxLength: 14 }), (s) => {
        expect(linear.test(s)).toBe(FORMER.test(s));
      }),
      { numRuns: 5000 },
    );
    for (const ok of ['ana@example.com', '  ana@example.com ', 'a@b.c', 'a.b@c.d.e', 'a@b..c', 'a@b.c.']) {
      expect(linear.test(ok)).toBe(true);
    }
    for (const bad of ['ana@example', 'a@.b', 'a b@c.d', 'a@b@c.d', '@b.c', 'a@b.']) {
      expect(linear.test(bad)).toBe(false);
    }
  });

  it('matches the former pattern’s worst cases in linear time', () => {
    for (const input of [`a@${'a.'.repeat(32_000)} !`, `a@a${'.'.repeat(64_000)} @`, `${' '.repeat(64_000)}!`]) {
      expect(fastestOf3(() => linear.test(input))).toBeLessThan(20);
    }
  });

  it('checks the length before the pattern: a 64 KB email fails fast at maxLength', () => {
    const validate = compile({ type: 'object', properties: { email } }, 'body');
    const long = { email: `a@${'a.'.repeat(32_000)} !` };
    expect(validate(long)).toBe(false);
    expect(fastestOf3(() => validate(long))).toBeLessThan(20);
    expect(validate.errors?.[0]?.keyword).toBe('maxLength');
  });
});
