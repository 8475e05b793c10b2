// Generates schemas/<context>/events.ts, the typed event contract of one bounded context, from its .avsc files:
//   npx tsx schemas/codegen.ts           (npm run schemas:types) writes every context's events.ts
//   npx tsx schemas/codegen.ts --check   writes nothing; exits 1 naming every events.ts that is out of date
// The output is already formatted the way Biome formats it, so `biome check` and the generator never disagree.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import avro from 'avsc';
import { eventSchemas } from './catalog.js';

/** What the generator needs of one event type (the catalog's EventSchema has all of it). */
export interface EventSchemaSource {
  readonly eventType: string;
  /** Topic of the event's aggregate, e.g. ordering.menu-item. */
  readonly topic: string;
  /** The record definition as written in schemas/<context>/<EventType>.avsc. */
  readonly definition: avro.Schema;
}

const LINE_WIDTH = 120; // biome.json formatter.lineWidth
const HEADER =
  '// Generated from the .avsc files of this folder by `npm run schemas:types` (schemas/codegen.ts): do not edit by hand.';

/** The contexts that have event schemas, in catalog order. */
export function eventContexts(): string[] {
  return [...new Set([...eventSchemas().values()].map((schema) => schema.context))];
}

export function eventsFilePath(context: string): string {
  return fileURLToPath(new URL(`./${context}/events.ts`, import.meta.url));
}

/**
 * TypeScript source of schemas/<context>/events.ts. `schemas` defaults to the context's schemas in the catalog
 * (topics.ts order); pass others to see what a changed .avsc would generate.
 */
export function generateContextEvents(
  context: string,
  schemas: readonly EventSchemaSource[] = [...eventSchemas().values()].filter((s) => s.context === context),
): string {
  if (schemas.length === 0) throw new Error(`no event schemas for context ${context}`);
  const contextName = pascalCase(context);
  const types = new ContextTypes();
  for (const { eventType, definition } of schemas) {
    const type = avro.Type.forSchema(definition);
    if ((type.typeName !== 'record' && type.typeName !== 'error') || shortName(type) !== eventType) {
      throw new Error(`schemas/${context}/${eventType}.avsc must define a record named ${eventType}`);
    }
    types.declare(type, eventType);
  }

  const blocks = [...types.declarations];
  const exported = [...types.names];
  const mapName = `${contextName}EventMap`;
  blocks.push(
    [
      `/** Every event type of the ${context} context, by name. */`,
      `export interface ${mapName} {`,
      ...schemas.map((s) => `  ${s.eventType}: ${s.eventType};`),
      '}',
    ].join('\n'),
  );
  exported.push(mapName);

  const topics = [...new Set(schemas.map((s) => s.topic))];
  const unionNames: string[] = [];
  for (const topic of topics) {
    const name = `${pascalCase(topic.slice(topic.indexOf('.') + 1))}Event`;
    const members = schemas.filter((s) => s.topic === topic).map((s) => eventMember(s.eventType));
    blocks.push([`/** The events on topic ${topic}. */`, ...typeAlias(name, members)].join('\n'));
    unionNames.push(name);
  }
  exported.push(...unionNames);
  const contextUnion = `${contextName}Event`;
  blocks.push(
    [`/** Every event of the ${context} context. */`, ...typeAlias(contextUnion, unionNames.map(plain))].join('\n'),
  );
  exported.push(contextUnion);

  const clash = exported.find((name, i) => exported.indexOf(name) !== i || name === 'Buffer' || name === 'Record');
  if (clash) throw new Error(`schemas/${context}/events.ts would declare ${clash} twice (or shadow a global type)`);

  const source = `${[HEADER, ...blocks].join('\n\n')}\n`;
  for (const line of source.split('\n')) {
    if (line.length > LINE_WIDTH && !isComment(line)) {
      throw new Error(`the generator cannot wrap this line the way Biome would (over ${LINE_WIDTH} columns): ${line}`);
    }
  }
  return source;
}

/** A TypeScript type, kept as a tree so that a union too wide for one line can be put one member per line. */
type TsType =
  | { readonly kind: 'name'; readonly text: string }
  | { readonly kind: 'union'; readonly members: readonly TsType[] }
  | { readonly kind: 'array'; readonly items: TsType }
  | { readonly kind: 'map'; readonly values: TsType };

const named = (text: string): TsType => ({ kind: 'name', text });

function inline(type: TsType): string {
  switch (type.kind) {
    case 'name':
      return type.text;
    case 'union':
      return type.members.map(inline).join(' | ');
    case 'array':
      return type.items.kind === 'union' ? `(${inline(type.items)})[]` : `${inline(type.items)}[]`;
    case 'map':
      return `Record<string, ${inline(type.values)}>`;
  }
}

interface NamedDeclaration {
  /** Avro full name and schema (with docs and defaults) of the first definition met, to catch a different one. */
  readonly fullName: string;
  readonly schema: string;
  readonly eventType: string;
}

/** The named Avro types (records, enums) of one context, each declared once, dependencies first. */
class ContextTypes {
  readonly declarations: string[] = [];
  private readonly byName = new Map<string, NamedDeclaration>();

  get names(): string[] {
    return [...this.byName.keys()];
  }

  /** Declares a record or enum (once per context) and returns its TypeScript name. */
  declare(type: avro.Type, eventType: string): string {
    const name = shortName(type);
    const fullName = type.name ?? name;
    const schema = JSON.stringify(type.schema({ exportAttrs: true }));
    const earlier = this.byName.get(name);
    if (earlier) {
      if (earlier.schema !== schema) {
        throw new Error(
          `${name} is defined differently in ${earlier.eventType}.avsc (${earlier.fullName}) and in ${eventType}.avsc ` +
            `(${fullName}): one context's events.ts has a single ${name}, so make the definitions identical or rename one`,
        );
      }
      return name;
    }
    this.byName.set(name, { fullName, schema, eventType }); // before the fields: a record may refer to itself

    if (type.typeName === 'enum') {
      const symbols = (type as avro.types.EnumType).symbols.map((symbol) => plain(`'${symbol}'`));
      this.declarations.push([...docComment(type.doc, ''), ...typeAlias(name, symbols)].join('\n'));
      return name;
    }
    const fields = (type as avro.types.RecordType).fields;
    const body: string[] = [];
    for (const field of fields) {
      const tsType = this.tsType(field.type, eventType, `${name}.${field.name}`);
      body.push(...docComment(fieldDoc(field), '  '), ...property(field.name, tsType));
    }
    const declaration =
      fields.length === 0
        ? [`export type ${name} = Record<string, never>;`]
        : [`export interface ${name} {`, ...body, '}'];
    this.declarations.push([...docComment(type.doc, ''), ...declaration].join('\n'));
    return name;
  }

  private tsType(type: avro.Type, eventType: string, where: string): TsType {
    const typeName = type.typeName;
    switch (typeName) {
      case 'null':
        return named('null');
      case 'boolean':
        return named('boolean');
      case 'string':
        return named('string');
      case 'int':
      case 'long':
      case 'float':
      case 'double':
        return named('number');
      case 'bytes':
      case 'fixed':
        return named('Buffer');
      case 'record':
      case 'error':
      case 'enum':
        return named(this.declare(type, eventType));
      case 'array':
        return { kind: 'array', items: this.tsType((type as avro.types.ArrayType).itemsType, eventType, where) };
      case 'map':
        return {
          kind: 'map',
          values: this.tsType((type as avro.types.MapType).valuesType as avro.Type, eventType, where),
        };
      case 'union:unwrapped': {
        const members = (type as avro.types.UnwrappedUnionType).types.map((t) => this.tsType(t, eventType, where));
        const isNull = (t: TsType) => t.kind === 'name' && t.text === 'null';
        return { kind: 'union', members: [...members.filter((t) => !isNull(t)), ...members.filter(isNull)] };
      }
      case 'union:wrapped':
        throw new Error(
          `${eventType}.avsc: the union of ${where} has branches avsc cannot tell apart, so it decodes them as ` +
            'wrapped objects ({ branch: value }); the generator does not support such unions',
        );
      default:
        if (typeName.startsWith('logical:')) {
          return this.tsType((type as avro.types.LogicalType).underlyingType, eventType, where);
        }
        throw new Error(`${eventType}.avsc: ${where} has Avro type ${typeName}, which the generator does not map`);
    }
  }
}

/** `name: type;` on one line, or a too-wide union one member per line, as Biome prints them. */
function property(name: string, type: TsType): string[] {
  const line = `  ${name}: ${inline(type)};`;
  if (line.length <= LINE_WIDTH || type.kind !== 'union') return [line];
  const members = type.members.map((member) => `    | ${inline(member)}`);
  return [`  ${name}:`, ...members.slice(0, -1), `${members.at(-1)};`];
}

/** One member of a union type alias: its one-line form and, if that is too wide, its form over several lines. */
interface Member {
  readonly inline: string;
  readonly lines?: readonly string[];
}

const plain = (text: string): Member => ({ inline: text });

const eventMember = (eventType: string): Member => ({
  inline: `{ readonly type: '${eventType}'; readonly data: ${eventType} }`,
  lines: ['{', `  readonly type: '${eventType}';`, `  readonly data: ${eventType};`, '}'],
});

/** `export type Name = A | B;` on one line if it fits, else one member per line with a leading `| `. */
function typeAlias(name: string, members: readonly Member[]): string[] {
  const line = `export type ${name} = ${members.map((m) => m.inline).join(' | ')};`;
  if (line.length <= LINE_WIDTH) return [line];
  const [only] = members;
  if (members.length === 1 && only?.lines) {
    return [`export type ${name} = ${only.lines[0]}`, ...only.lines.slice(1, -1), `${only.lines.at(-1)};`];
  }
  const lines = [`export type ${name} =`];
  for (const member of members) {
    if (`  | ${member.inline}`.length <= LINE_WIDTH || !member.lines) lines.push(`  | ${member.inline}`);
    else lines.push(`  | ${member.lines[0]}`, ...member.lines.slice(1).map((l) => `    ${l}`));
  }
  lines[lines.length - 1] += ';';
  return lines;
}

function docComment(doc: string | undefined, indent: string): string[] {
  const lines = (doc ?? '')
    .trim()
    .replaceAll('*/', '*\\/')
    .split(/\r?\n/)
    .map((line) => line.trim());
  if (lines.length === 1) return lines[0] ? [`${indent}/** ${lines[0]} */`] : [];
  return [`${indent}/**`, ...lines.map((line) => `${indent} *${line ? ` ${line}` : ''}`), `${indent} */`];
}

// avsc keeps a field's doc but its typings do not declare it.
const fieldDoc = (field: avro.types.Field): string | undefined => (field as { doc?: string }).doc;

const shortName = (type: avro.Type): string => (type.name ?? '').split('.').at(-1) ?? '';

const isComment = (line: string): boolean => /^\s*(\/\*\*|\*|\/\/)/.test(line);

/** ordering → Ordering, menu-item → MenuItem. */
export const pascalCase = (words: string): string =>
  words
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((word) => word[0]!.toUpperCase() + word.slice(1))
    .join('');

function main(args: readonly string[]): number {
  const check = args.includes('--check');
  if (args.some((arg) => arg !== '--check')) {
    console.error('usage: tsx schemas/codegen.ts [--check]');
    return 2;
  }
  // Generate everything before writing anything: a broken schema leaves no half-updated tree.
  const outputs = eventContexts().map((context) => ({
    path: eventsFilePath(context),
    source: generateContextEvents(context),
  }));
  const stale = outputs.filter(({ path, source }) => !existsSync(path) || readFileSync(path, 'utf8') !== source);
  const shown = (path: string) => relative(process.cwd(), path);
  if (check) {
    for (const { path } of stale) console.error(`stale: ${shown(path)}`);
    if (stale.length > 0) {
      console.error('these files do not match the .avsc files: run `npm run schemas:types` and commit the result');
      return 1;
    }
    console.log(`schemas: ${outputs.length} events.ts up to date`);
    return 0;
  }
  for (const { path, source } of stale) {
    writeFileSync(path, source);
    console.log(`wrote ${shown(path)}`);
  }
  console.log(`schemas: ${outputs.length} events.ts generated, ${stale.length} changed`);
  return 0;
}

const invokedPath = process.argv[1];
if (invokedPath !== undefined && import.meta.url === pathToFileURL(resolve(invokedPath)).href) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (error) {
    console.error(`schema codegen failed: ${(error as Error).message}`);
    process.exitCode = 2;
  }
}
