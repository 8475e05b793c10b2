import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import avro from 'avsc';
import { schemaContexts } from './contexts.js';

/** One event type: its Avro schema as written in schemas/<context>/<EventType>.avsc and its topic. */
export interface EventSchema {
  readonly eventType: string;
  readonly context: string;
  /** Topic (before any prefix) and stream type of the aggregate the event belongs to. */
  readonly topic: string;
  /** Avro full name, e.g. ledgerline.ordering.OrderPlaced. */
  readonly fullName: string;
  readonly definition: avro.Schema;
  readonly type: avro.Type;
}

export function schemaPath(context: string, eventType: string): string {
  return fileURLToPath(new URL(`./${context}/${eventType}.avsc`, import.meta.url));
}

function load(): Map<string, EventSchema> {
  const byType = new Map<string, EventSchema>();
  for (const { name: context, topics } of schemaContexts) {
    for (const [topic, eventTypes] of Object.entries(topics)) {
      if (!topic.startsWith(`${context}.`))
        throw new Error(`topic ${topic} of context ${context} must start ${context}.`);
      for (const eventType of eventTypes) {
        if (byType.has(eventType)) throw new Error(`event type ${eventType} is listed twice`);
        const definition = JSON.parse(readFileSync(schemaPath(context, eventType), 'utf8')) as avro.Schema;
        const type = avro.Type.forSchema(definition);
        const fullName = type.name ?? eventType;
        byType.set(eventType, { eventType, context, topic, fullName, definition, type });
      }
    }
  }
  return byType;
}

let cached: Map<string, EventSchema> | undefined;

/** Every event type the system knows, read once from the .avsc files. */
export function eventSchemas(): ReadonlyMap<string, EventSchema> {
  cached ??= load();
  return cached;
}

export function eventSchema(eventType: string): EventSchema {
  const schema = eventSchemas().get(eventType);
  if (!schema) throw new Error(`unknown event type ${eventType}: add schemas/<context>/${eventType}.avsc and list it`);
  return schema;
}

export function topicsOf(context?: string): string[] {
  const all = [...eventSchemas().values()].filter((s) => context === undefined || s.context === context);
  return [...new Set(all.map((s) => s.topic))];
}

/** Subject naming strategy: topic + record name, so several event types share a topic. */
export const subjectOf = (topic: string, fullName: string): string => `${topic}-${fullName}`;
