import { Ajv, type ValidateFunction } from 'ajv';
import type { FastifyRequest, FastifySchema } from 'fastify';
import { isCalendarDate } from '../runtime/dates.js';
import { findInvalidText } from '../runtime/text.js';
import { HttpError } from './errors.js';

// Bodies are JSON: a wrong type is an error, never coerced ("2" is not a quantity). Query strings and path
// parameters are text by nature, so their numbers and booleans are coerced. Unknown properties are refused in
// both, never silently dropped.
//
// Validation stops at the first failing keyword (no `allErrors`): with it, Ajv ran every keyword of every field
// whatever had failed before, so a `pattern` ran on a 32 KB string that `maxLength` had already refused. Ajv checks
// a string's length before its pattern, so a pattern only ever sees strings within the field's `maxLength`.
const strict = { allErrors: false, removeAdditional: false, useDefaults: false, strict: false } as const;

function ajvWith(coerceTypes: boolean): Ajv {
  const ajv = new Ajv({ ...strict, coerceTypes });
  // `format: 'date'`: a real day PostgreSQL takes (`\d{4}-\d{2}-\d{2}` alone lets 2024-02-30 and 9999-99-99 through).
  ajv.addFormat('date', { type: 'string', validate: isCalendarDate });
  return ajv;
}

const bodies = ajvWith(false);
const urls = ajvWith(true);

const SAFE = Number.MAX_SAFE_INTEGER;
/** Keywords whose values are data, not subschemas. */
const DATA_KEYWORDS = new Set(['enum', 'const', 'default', 'examples', 'example', 'required', 'description']);
/** Keywords whose values map names (of properties, definitions) to subschemas. */
const SCHEMA_MAPS = new Set(['properties', 'patternProperties', 'definitions', '$defs', 'dependentSchemas']);

/**
 * The schema with every `integer` bounded to JavaScript's safe range: an integer beyond 2^53-1 (`1e30`) is neither
 * exact in JavaScript nor storable in a BIGINT, so no route takes one, whether or not its schema says so.
 * Returns a copy; the route's own schema (and the OpenAPI document made from it) is left as written.
 */
export function withSafeIntegers<T>(schema: T): T {
  if (Array.isArray(schema)) return schema.map((s) => withSafeIntegers(s)) as T;
  if (typeof schema !== 'object' || schema === null) return schema;
  const copy: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    if (SCHEMA_MAPS.has(key) && typeof value === 'object' && value !== null) {
      copy[key] = Object.fromEntries(Object.entries(value).map(([name, sub]) => [name, withSafeIntegers(sub)]));
    } else {
      copy[key] = DATA_KEYWORDS.has(key) ? value : withSafeIntegers(value);
    }
  }
  const types = Array.isArray(copy.type) ? copy.type : [copy.type];
  if (types.includes('integer') && !types.includes('number')) {
    copy.maximum = typeof copy.maximum === 'number' ? Math.min(copy.maximum, SAFE) : SAFE;
    copy.minimum = typeof copy.minimum === 'number' ? Math.max(copy.minimum, -SAFE) : -SAFE;
  }
  return copy as T;
}

/** Each route schema compiled once per validator, as Ajv's own cache would if it saw the same object. */
const compiled = new WeakMap<Ajv, WeakMap<object, ValidateFunction>>([
  [bodies, new WeakMap()],
  [urls, new WeakMap()],
]);

export function validatorCompiler({
  schema,
  httpPart,
}: {
  schema: FastifySchema;
  httpPart?: string;
}): ValidateFunction {
  const ajv = httpPart === 'body' ? bodies : urls;
  const cache = compiled.get(ajv)!;
  let validate = cache.get(schema);
  if (!validate) {
    validate = ajv.compile(withSafeIntegers(schema) as object);
    cache.set(schema, validate);
  }
  return validate;
}

const PARTS = ['params', 'query', 'body'] as const;
const PART_NAMES = { params: 'params', query: 'querystring', body: 'body' } as const;

/**
 * preValidation hook of every route (installed once in app.ts, so every context's routes get it, with a schema or
 * without): refuses text that is not well-formed Unicode (a lone surrogate) or holds a control character other
 * than tab, line feed and carriage return, anywhere in the path parameters, the query string or the JSON body.
 * 400 INVALID_TEXT with the part and the JSON pointer of the string. One pass over what was parsed: O(size).
 * A raw body (a Buffer: signed webhooks) is left to what verifies it; the event codec refuses such text again.
 */
export async function refuseInvalidText(request: FastifyRequest): Promise<void> {
  for (const part of PARTS) {
    const value: unknown = request[part];
    if (value === undefined || value === null || Buffer.isBuffer(value)) continue;
    const found = findInvalidText(value, 'client');
    if (found) {
      const where = `${PART_NAMES[part]}${found.path ? ` ${found.path}` : ''}`;
      throw new HttpError(
        400,
        'INVALID_TEXT',
        `${where} holds a ${found.problem} (${found.codeUnit}): text must be well-formed Unicode without control characters other than tab, line feed and carriage return`,
        { location: PART_NAMES[part], path: found.path, problem: found.problem, codeUnit: found.codeUnit },
      );
    }
  }
}
