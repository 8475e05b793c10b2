import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type avro from 'avsc';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { eventSchemas, schemaPath } from '../../../schemas/catalog.js';
import { type EventSchemaSource, generateContextEvents } from '../../../schemas/codegen.js';
import type { IdentityEvent, IdentityEventMap } from '../../../schemas/identity/events.js';
import type { identityTopics } from '../../../schemas/identity/topics.js';
import type { OrderingEvent, OrderingEventMap } from '../../../schemas/ordering/events.js';
import type { orderingTopics } from '../../../schemas/ordering/topics.js';

// The generated contract (schemas/<context>/events.ts) is checked twice: against the generator (it is up to date)
// and, independently of the generator, against the .avsc files read as plain JSON (it says what Avro says).

const schemas = [...eventSchemas().values()];
const contexts = [...new Set(schemas.map((s) => s.context))];
const schemasOf = (context: string) => schemas.filter((s) => s.context === context);
const eventsFile = (context: string) => join(dirname(schemaPath(context, 'Any')), 'events.ts');
const committed = (context: string) =>
  existsSync(eventsFile(context)) ? readFileSync(eventsFile(context), 'utf8') : '';
const avsc = (context: string, eventType: string) =>
  JSON.parse(readFileSync(schemaPath(context, eventType), 'utf8')) as avro.schema.RecordType;
const pascal = (words: string) =>
  words.replace(/(^|[^A-Za-z0-9]+)([a-z0-9])/gi, (_, _sep, c: string) => c.toUpperCase());

describe('the generated event contracts (schemas/<context>/events.ts)', () => {
  it('cover the ordering and identity contexts', () => {
    expect(contexts).toEqual(expect.arrayContaining(['ordering', 'identity']));
  });

  it.each(contexts)('are up to date with the .avsc files of %s, byte for byte', (context) => {
    expect(committed(context), `schemas/${context}/events.ts is stale: run \`npm run schemas:types\``).toBe(
      generateContextEvents(context),
    );
  });

  it('change when a schema changes (so the check above can fail)', () => {
    const withTip = (s: EventSchemaSource): EventSchemaSource => {
      if (s.eventType !== 'OrderPlaced') return s;
      const definition = structuredClone(s.definition) as avro.schema.RecordType;
      definition.fields.push({ name: 'tipMinor', type: ['null', 'long'], default: null, doc: 'tip in minor units' });
      return { ...s, definition };
    };

    const generated = generateContextEvents('ordering', schemasOf('ordering').map(withTip));

    expect(generated).not.toBe(committed('ordering'));
    expect(interfaces(generated).get('OrderPlaced')?.at(-1)).toEqual({
      name: 'tipMinor',
      optional: false,
      type: 'number | null',
      doc: 'tip in minor units',
    });
  });

  it('refuses two different definitions of one named type in a context, naming both schemas', () => {
    const otherAddress = schemasOf('ordering').map((s): EventSchemaSource => {
      if (s.eventType !== 'OrderPlaced') return s;
      const definition = structuredClone(s.definition) as avro.schema.RecordType;
      const address = definition.fields.find((f) => f.name === 'deliveryAddress')!.type as avro.schema.RecordType;
      address.fields = address.fields.filter((f) => f.name !== 'line2');
      return { ...s, definition };
    });

    expect(() => generateContextEvents('ordering', otherAddress)).toThrow(
      /Address is defined differently in RestaurantRegistered\.avsc .* OrderPlaced\.avsc/,
    );
  });

  it('refuses a union avsc would decode as wrapped objects rather than emit a wrong type', () => {
    const ambiguous = schemasOf('identity').map((s): EventSchemaSource => {
      if (s.eventType !== 'AccountRegistered') return s;
      const definition = structuredClone(s.definition) as avro.schema.RecordType;
      definition.fields.push({ name: 'age', type: ['null', 'int', 'long'], default: null });
      return { ...s, definition };
    });

    expect(() => generateContextEvents('identity', ambiguous)).toThrow(/AccountRegistered\.age/);
  });
});

describe.each(contexts)('schemas/%s/events.ts, field by field against the .avsc files', (context) => {
  const source = committed(context);
  const declared = interfaces(source);
  const contextSchemas = schemasOf(context);

  it.each(contextSchemas.map((s) => s.eventType))(
    'declares %s and its records as the Avro schema does',
    (eventType) => {
      // The event's record, then every named record met in its fields (tsTypeOf adds them as it goes).
      const records = new Map([[eventType, avsc(context, eventType)]]);
      for (const record of records.values()) {
        const name = shortName(record.name);
        const properties = declared.get(name);

        expect(properties, `export interface ${name} in schemas/${context}/events.ts`).toBeDefined();
        expect(properties!.map((p) => p.name)).toEqual(record.fields.map((f) => f.name));
        for (const [index, field] of record.fields.entries()) {
          expect(properties![index], `${name}.${field.name}`).toEqual({
            name: field.name,
            optional: false, // a field with a default is still always present once decoded
            type: tsTypeOf(field.type, records),
            doc: field.doc?.trim(),
          });
        }
      }
    },
  );

  it('maps every event type of the context to its interface', () => {
    const map = declared.get(`${pascal(context)}EventMap`);

    expect(map?.map((p) => [p.name, p.type])).toEqual(contextSchemas.map((s) => [s.eventType, s.eventType]));
  });

  it('has one { type, data } union per topic, with the events of that topic, and one for the context', () => {
    const topics = [...new Set(contextSchemas.map((s) => s.topic))];
    const unionName = (topic: string) => `${pascal(topic.split('.')[1]!)}Event`;

    for (const topic of topics) {
      const members = [...typeAlias(source, unionName(topic)).matchAll(/type: '(\w+)'; readonly data: (\w+)/g)];
      const inTopic = contextSchemas.filter((s) => s.topic === topic).map((s) => s.eventType);

      expect(members.map(([, type, data]) => [type, data])).toEqual(inTopic.map((t) => [t, t]));
    }
    expect(
      typeAlias(source, `${pascal(context)}Event`)
        .split('|')
        .map((m) => m.trim()),
    ).toEqual(topics.map(unionName));
  });
});

describe('the generated types, as the compiler sees them', () => {
  type Listed<T> = T[keyof T] extends readonly (infer E)[] ? E : never;

  it('list exactly the event types of topics.ts (checked by tsc)', () => {
    expectTypeOf<keyof OrderingEventMap>().toEqualTypeOf<Listed<typeof orderingTopics>>();
    expectTypeOf<OrderingEvent['type']>().toEqualTypeOf<Listed<typeof orderingTopics>>();
    expectTypeOf<keyof IdentityEventMap>().toEqualTypeOf<Listed<typeof identityTopics>>();
    expectTypeOf<IdentityEvent['type']>().toEqualTypeOf<Listed<typeof identityTopics>>();
    expectTypeOf<Extract<OrderingEvent, { type: 'OrderPickedUp' }>['data']['courierId']>().toEqualTypeOf<
      string | null
    >();
  });
});

interface Property {
  readonly name: string;
  readonly optional: boolean;
  /** The TypeScript type on one line, as written when it fits in one. */
  readonly type: string;
  readonly doc: string | undefined;
}

/** Every `export interface` of a source file and its properties, read line by line. */
function interfaces(source: string): Map<string, Property[]> {
  const result = new Map<string, Property[]>();
  for (const [, name, body] of source.matchAll(/^export interface (\w+) \{\n([\s\S]*?)^\}$/gm)) {
    const properties: Property[] = [];
    let doc: string[] | undefined;
    let pending: { name: string; optional: boolean; type: string; doc: string | undefined } | undefined;
    for (const line of body!.split('\n').filter(Boolean)) {
      const oneLineDoc = line.match(/^ {2}\/\*\* (.*) \*\/$/);
      const docLine = line.match(/^ {3}\*(?: (.*))?$/);
      const property = line.match(/^ {2}(\w+)(\?)?:(.*)$/);
      if (pending) pending.type += ` ${line.trim()}`;
      else if (oneLineDoc) doc = [oneLineDoc[1]!];
      else if (line === '  /**') doc = [];
      else if (doc && docLine) doc.push(docLine[1] ?? '');
      else if (line === '   */') continue;
      else if (property) {
        pending = { name: property[1]!, optional: property[2] === '?', type: property[3]!, doc: doc?.join('\n') };
        doc = undefined;
      } else throw new Error(`interface ${name}: unexpected line ${JSON.stringify(line)}`);
      if (pending?.type.endsWith(';')) {
        properties.push({ ...pending, type: oneLine(pending.type.slice(0, -1)) });
        pending = undefined;
      }
    }
    result.set(name!, properties);
  }
  for (const [, name] of source.matchAll(/^export type (\w+) = Record<string, never>;$/gm)) result.set(name!, []);
  return result;
}

/** The right-hand side of `export type <name> = ...;`, on one line. */
function typeAlias(source: string, name: string): string {
  const match = source.match(new RegExp(`(?:^|\\n)export type ${name} =([\\s\\S]*?);\\n(?:\\n|$)`));
  expect(match, `export type ${name}`).not.toBeNull();
  return oneLine(match![1]!);
}

/** A type as Biome would print it on one line: no leading `|`, no line breaks. */
const oneLine = (type: string) =>
  type
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/^\| /, '')
    .replace(/([(<]) ?\| /g, '$1')
    .replace(/ ([)>])/g, '$1');

const shortName = (name: string) => name.split('.').at(-1)!;

const avroToTs: Record<string, string> = {
  null: 'null',
  boolean: 'boolean',
  int: 'number',
  long: 'number',
  float: 'number',
  double: 'number',
  string: 'string',
  bytes: 'Buffer',
};

/** The TypeScript type of an Avro type, from the JSON alone; named records met on the way go into `records`. */
function tsTypeOf(schema: avro.Schema, records: Map<string, avro.schema.RecordType>): string {
  if (typeof schema === 'string') return avroToTs[schema] ?? shortName(schema); // a primitive or a named type
  if (Array.isArray(schema)) {
    const branches = schema.map((branch) => tsTypeOf(branch, records));
    return [...branches.filter((b) => b !== 'null'), ...branches.filter((b) => b === 'null')].join(' | ');
  }
  const complex = schema as { type: avro.Schema; name?: string; items?: avro.Schema; values?: avro.Schema };
  switch (complex.type) {
    case 'record':
    case 'error':
      if (!records.has(shortName(complex.name!))) {
        records.set(shortName(complex.name!), complex as avro.schema.RecordType);
      }
      return shortName(complex.name!);
    case 'enum':
      return shortName(complex.name!);
    case 'fixed':
      return 'Buffer';
    case 'array': {
      const items = tsTypeOf(complex.items!, records);
      return items.includes(' | ') ? `(${items})[]` : `${items}[]`;
    }
    case 'map':
      return `Record<string, ${tsTypeOf(complex.values!, records)}>`;
    default:
      return tsTypeOf(complex.type, records); // a primitive with attributes (doc, logicalType...)
  }
}
