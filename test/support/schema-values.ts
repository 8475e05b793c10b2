import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { type RegisteredRoute, registeredRoutes } from '../../gateway/app.js';
import type { TokenService } from '../../gateway/tokens.js';
import { problemIn } from '../../runtime/text.js';
import { bearer } from './gateway.js';

// Requests made from the gateway's own route schemas, for the tests that walk every route of every context
// (worst-case patterns, refused text, fuzzing): a new route is covered the day it is registered.

export type Schema = Record<string, unknown>;
export type Part = 'body' | 'querystring' | 'params';

/** A route of the running gateway with a schema for at least one request part (HEAD copies left out). */
export interface SchemaRoute extends RegisteredRoute {
  readonly parts: Partial<Record<Part, Schema>>;
}

export function schemaRoutes(app: FastifyInstance): SchemaRoute[] {
  return registeredRoutes(app).flatMap((route) => {
    if (route.method === 'HEAD' || !route.schema) return [];
    const schema = route.schema as Record<string, unknown>;
    const parts: Partial<Record<Part, Schema>> = {};
    for (const part of ['body', 'querystring', 'params'] as const) {
      if (schema[part] && typeof schema[part] === 'object') parts[part] = schema[part] as Schema;
    }
    return Object.keys(parts).length > 0 ? [{ ...route, parts }] : [];
  });
}

const typesOf = (schema: Schema): string[] =>
  Array.isArray(schema.type) ? (schema.type as string[]) : schema.type ? [schema.type as string] : [];

/** Every string-typed place of a part's schema, as the keys leading to it (array items as index 0). */
export function stringLeaves(schema: Schema, path: string[] = []): { path: string[]; schema: Schema }[] {
  const types = typesOf(schema);
  const out: { path: string[]; schema: Schema }[] = [];
  if (types.includes('string')) out.push({ path, schema });
  if (types.includes('object') && schema.properties) {
    for (const [key, sub] of Object.entries(schema.properties as Record<string, Schema>)) {
      out.push(...stringLeaves(sub, [...path, key]));
    }
  }
  if (types.includes('array') && schema.items && typeof schema.items === 'object') {
    out.push(...stringLeaves(schema.items as Schema, [...path, '0']));
  }
  return out;
}

/** A value at `path` of a copy of `value` (made of plain objects and arrays). */
export function withValueAt(value: unknown, path: readonly string[], replacement: unknown): unknown {
  if (path.length === 0) return replacement;
  const [head, ...rest] = path as [string, ...string[]];
  if (Array.isArray(value)) {
    const copy = [...value];
    copy[Number(head)] = withValueAt(copy[Number(head)], rest, replacement);
    return copy;
  }
  const base = typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
  return { ...base, [head]: withValueAt(base[head], rest, replacement) };
}

const clean = (s: string): boolean => problemIn(s, 'client') === null;

/**
 * Values the schema accepts (and the gateway's text rules too); `minimal`: objects with their required keys only;
 * `text`: other text for strings the schema does not constrain beyond their length (schema-valid, but perhaps not
 * what the gateway's text rules take: how hostile text reaches a handler when the edge lets it through).
 */
export function validValue(schema: Schema, minimal = false, text?: fc.Arbitrary<string>): fc.Arbitrary<unknown> {
  if (Array.isArray(schema.enum)) return fc.constantFrom(...(schema.enum as unknown[]));
  const types = typesOf(schema);
  if (types.length > 1) return fc.oneof(...types.map((type) => validValue({ ...schema, type }, minimal, text)));
  const type = types[0];
  switch (type) {
    case 'null':
      return fc.constant(null);
    case 'boolean':
      return fc.boolean();
    case 'integer':
      return fc.integer({
        min: typeof schema.minimum === 'number' ? schema.minimum : -1000,
        max: typeof schema.maximum === 'number' ? Math.min(schema.maximum, Number.MAX_SAFE_INTEGER) : 1000,
      });
    case 'string': {
      const minLength = typeof schema.minLength === 'number' ? schema.minLength : 0;
      const maxLength = typeof schema.maxLength === 'number' ? schema.maxLength : 200;
      const fits = (s: string) => s.length >= minLength && s.length <= maxLength && clean(s);
      if (schema.format === 'date') {
        return fc
          .date({ min: new Date('0001-01-01T00:00:00Z'), max: new Date('9999-12-31T00:00:00Z'), noInvalidDate: true })
          .map((d) => d.toISOString().slice(0, 10));
      }
      if (typeof schema.pattern === 'string') {
        return fc.stringMatching(new RegExp(schema.pattern, 'u')).filter(fits);
      }
      const plain = fc
        .string({ unit: 'grapheme', minLength, maxLength: Math.min(maxLength, 40) })
        .map((s) => s.slice(0, maxLength))
        .filter(fits);
      return text
        ? fc.oneof(
            plain,
            text.filter((s) => s.length >= minLength && s.length <= maxLength),
          )
        : plain;
    }
    case 'array': {
      const items = (schema.items as Schema | undefined) ?? {};
      const minLength = typeof schema.minItems === 'number' ? schema.minItems : 0;
      const maxLength = Math.max(minLength, Math.min(typeof schema.maxItems === 'number' ? schema.maxItems : 3, 3));
      return fc.array(validValue(items, minimal, text), { minLength, maxLength });
    }
    case 'object': {
      const properties = (schema.properties as Record<string, Schema> | undefined) ?? {};
      const required = (schema.required as string[] | undefined) ?? [];
      const model: Record<string, fc.Arbitrary<unknown>> = {};
      for (const [key, sub] of Object.entries(properties)) {
        if (!minimal || required.includes(key)) model[key] = validValue(sub, minimal, text);
      }
      return fc.record(model, { requiredKeys: required.filter((k) => k in model) }) as fc.Arbitrary<unknown>;
    }
    default:
      return fc.jsonValue();
  }
}

/** The smallest value the schema accepts, the same each time (the base a field under test is swapped into). */
export const sampleValid = (schema: Schema, seed = 7): unknown =>
  fc.sample(validValue(schema, true), { numRuns: 1, seed })[0];

/** A request part's value as query-string or path text (coerced back to numbers and booleans by the validator). */
export const asText = (value: unknown): string => (typeof value === 'string' ? value : JSON.stringify(value));

/**
 * Percent-encodes text for a URL, lone surrogates included (as the CESU-8 bytes a careless client would send,
 * which are not UTF-8): encodeURIComponent would throw on them.
 */
export function percentEncode(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const next = s.charCodeAt(i + 1);
    if (c >= 0xd800 && c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
      out += encodeURIComponent(s.slice(i, i + 2));
      i++;
    } else if (c >= 0xd800 && c <= 0xdfff) {
      out += `%${(0xe0 | (c >> 12)).toString(16).toUpperCase()}%${(0x80 | ((c >> 6) & 0x3f)).toString(16).toUpperCase()}%${(0x80 | (c & 0x3f)).toString(16).toUpperCase()}`;
    } else {
      out += encodeURIComponent(s[i]!);
    }
  }
  return out;
}

export interface RequestParts {
  body?: unknown;
  /** A raw JSON text to send instead of `body` (deep nesting, values JSON.stringify cannot write). */
  rawBody?: string;
  querystring?: Record<string, unknown>;
  params?: Record<string, unknown>;
}

/** The inject options of a request to `route` with these parts, as a caller allowed on the route. */
export function injectOptions(tokens: TokenService, route: RegisteredRoute, parts: RequestParts) {
  let url = route.url.replace(/:([A-Za-z0-9_]+)/g, (_, name: string) => {
    const value = parts.params?.[name];
    return value === undefined ? 'x' : percentEncode(asText(value));
  });
  const query = Object.entries(parts.querystring ?? {})
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${percentEncode(k)}=${percentEncode(asText(v))}`)
    .join('&');
  if (query) url += `?${query}`;
  const role = route.roles?.[0] ?? 'customer';
  const headers: Record<string, string> = bearer(tokens, { 'x-actor-id': `fuzz-${role}`, 'x-role': role });
  const hasBody = route.method === 'POST';
  if (hasBody) headers['content-type'] = 'application/json';
  const payload = hasBody ? (parts.rawBody ?? JSON.stringify(parts.body ?? {})) : undefined;
  return { method: route.method as 'GET' | 'POST', url, headers, payload };
}

/** Minimal valid parts for every schema'd part of the route (the base one field under test is swapped into). */
export function validParts(route: SchemaRoute, seed = 7): RequestParts {
  return {
    body: route.parts.body ? sampleValid(route.parts.body, seed) : undefined,
    querystring: route.parts.querystring
      ? (sampleValid(route.parts.querystring, seed) as Record<string, unknown>)
      : undefined,
    params: route.parts.params ? (sampleValid(route.parts.params, seed) as Record<string, unknown>) : undefined,
  };
}

/** The parts with the value at `path` of `part` replaced. */
export function partsWith(base: RequestParts, part: Part, path: readonly string[], value: unknown): RequestParts {
  const current = part === 'body' ? base.body : part === 'querystring' ? base.querystring : base.params;
  const next = withValueAt(current ?? {}, path, value);
  return part === 'body'
    ? { ...base, body: next }
    : part === 'querystring'
      ? { ...base, querystring: next as Record<string, unknown> }
      : { ...base, params: next as Record<string, unknown> };
}
