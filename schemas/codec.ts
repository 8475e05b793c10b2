import avro from 'avsc';
import type { Knex } from 'knex';
import { DomainError } from '../runtime/errors.js';
import { createOnce } from '../runtime/postgres.js';
import { findInvalidText } from '../runtime/text.js';
import { type EventSchema, eventSchema, eventSchemas, subjectOf } from './catalog.js';
import { SchemaNotFoundError, type SchemaRegistryClient } from './registry.js';

const MAGIC_BYTE = 0;
const HEADER_BYTES = 5;

export interface DecodedEvent {
  readonly eventType: string;
  readonly schemaId: number;
  readonly data: Record<string, unknown>;
}

export class UndecodableEventError extends Error {
  readonly code = 'UNDECODABLE_EVENT';
  constructor(message: string) {
    super(message);
    this.name = 'UndecodableEventError';
  }
}

/**
 * An event holding text no strict UTF-8 reader can take (a lone surrogate, which avsc writes as CESU-8 bytes that
 * Python, Java and Go decoders refuse) or that PostgreSQL read models cannot store (NUL). Refused before anything
 * is written: whichever caller sent it (a request, a saga, a webhook) gets a refusal that is not retried (a
 * DomainError: 400 at the gateway), never a poisoned log.
 */
export class InvalidEventTextError extends DomainError {
  constructor(
    readonly eventType: string,
    readonly path: string,
    readonly problem: string,
    codeUnit: string,
  ) {
    super('invalid', 'INVALID_TEXT', `${eventType} ${path || '(root)'} holds a ${problem} (${codeUnit})`, {
      eventType,
      path,
      problem,
      codeUnit,
    });
    this.name = 'InvalidEventTextError';
  }
}

interface WriterSchema {
  readonly recordName: string;
  readonly type: avro.Type;
}

/** The codec's own table in the event store's database: the writer schema of every id ever written. */
export async function ensureSchemaCopies(db: Knex): Promise<void> {
  await createOnce(
    db,
    'ledgerline.schema-copies',
    `CREATE TABLE IF NOT EXISTS schemas (
       schema_id     integer PRIMARY KEY,
       subject       text NOT NULL,
       record_name   text NOT NULL,
       definition    jsonb NOT NULL,
       registered_at timestamptz NOT NULL DEFAULT now()
     )`,
  );
}

/**
 * Encodes events in the Confluent wire format (magic byte, 4-byte schema id, Avro body) and decodes any
 * writer schema's bytes into the current reader schema. Writer schemas are kept in the event store's
 * `schemas` table, so old events stay readable even if the registry loses its data.
 */
export class EventCodec {
  private readonly idsByType = new Map<string, number>();
  private readonly writers = new Map<number, WriterSchema>();
  private readonly resolvers = new Map<number, avro.Type>();

  constructor(
    private readonly registry: SchemaRegistryClient,
    private readonly db: Knex,
    private readonly topicPrefix = '',
  ) {}

  private copiesTable: Promise<void> | undefined;

  /** The `schemas` table of writer-schema copies, created by whichever process needs it first. */
  private copies(): Promise<void> {
    this.copiesTable ??= ensureSchemaCopies(this.db).catch((error: unknown) => {
      this.copiesTable = undefined; // an outage now must not fail every later call
      throw error;
    });
    return this.copiesTable;
  }

  /** Registers every event schema (BACKWARD compatibility enforced by the registry) and keeps a copy by id. */
  async registerAll(): Promise<void> {
    await this.copies();
    for (const schema of eventSchemas().values()) {
      const subject = subjectOf(this.topicPrefix + schema.topic, schema.fullName);
      const id = await this.registry.register(subject, schema.definition);
      this.idsByType.set(schema.eventType, id);
      this.writers.set(id, { recordName: schema.fullName, type: schema.type });
      await this.db('schemas')
        .insert({ schema_id: id, subject, record_name: schema.fullName, definition: JSON.stringify(schema.definition) })
        .onConflict('schema_id')
        .ignore();
    }
  }

  schemaIdOf(eventType: string): number {
    const id = this.idsByType.get(eventType);
    if (id === undefined) throw new Error(`schema of ${eventType} is not registered: call registerAll() at start-up`);
    return id;
  }

  /** Throws InvalidEventTextError for a string that is not well-formed Unicode or holds NUL. */
  encode(eventType: string, data: unknown): { schemaId: number; payload: Buffer } {
    const bad = findInvalidText(data, 'stored');
    if (bad) throw new InvalidEventTextError(eventType, bad.path, bad.problem, bad.codeUnit);
    const schema = eventSchema(eventType);
    const schemaId = this.schemaIdOf(eventType);
    const body = schema.type.toBuffer(data);
    const header = Buffer.alloc(HEADER_BYTES);
    header.writeUInt8(MAGIC_BYTE, 0);
    header.writeUInt32BE(schemaId, 1);
    return { schemaId, payload: Buffer.concat([header, body]) };
  }

  async decode(payload: Buffer): Promise<DecodedEvent> {
    if (payload.length < HEADER_BYTES || payload.readUInt8(0) !== MAGIC_BYTE) {
      throw new UndecodableEventError('not in the Confluent wire format (missing magic byte)');
    }
    const schemaId = payload.readUInt32BE(1);
    const writer = await this.writerSchema(schemaId);
    const eventType = writer.recordName.split('.').pop() ?? writer.recordName;
    const reader = eventSchemas().get(eventType);
    if (!reader)
      throw new UndecodableEventError(`schema ${schemaId} is ${writer.recordName}, which this build does not know`);
    const resolver = this.resolverFor(schemaId, writer, reader);
    try {
      const data = reader.type.fromBuffer(payload.subarray(HEADER_BYTES), resolver) as Record<string, unknown>;
      return { eventType, schemaId, data };
    } catch (error) {
      throw new UndecodableEventError(
        `cannot decode ${eventType} with schema ${schemaId}: ${(error as Error).message}`,
      );
    }
  }

  private resolverFor(schemaId: number, writer: WriterSchema, reader: EventSchema): avro.Type {
    let resolver = this.resolvers.get(schemaId);
    if (!resolver) {
      // Old events are read with their writer schema and resolved to the current reader schema.
      resolver = reader.type.createResolver(writer.type) as unknown as avro.Type;
      this.resolvers.set(schemaId, resolver);
    }
    return resolver;
  }

  /** Writer schemas being fetched: a batch decoded at once asks for each unknown id once, not once per event. */
  private readonly fetching = new Map<number, Promise<WriterSchema>>();

  private writerSchema(schemaId: number): Promise<WriterSchema> {
    const known = this.writers.get(schemaId);
    if (known) return Promise.resolve(known);
    let pending = this.fetching.get(schemaId);
    if (!pending) {
      pending = this.fetchWriterSchema(schemaId).finally(() => this.fetching.delete(schemaId));
      this.fetching.set(schemaId, pending);
    }
    return pending;
  }

  private async fetchWriterSchema(schemaId: number): Promise<WriterSchema> {
    await this.copies();
    const row = await this.db('schemas').where({ schema_id: schemaId }).first('record_name', 'definition');
    let definition: avro.Schema;
    if (row) {
      definition = row.definition as avro.Schema;
    } else {
      // Only "no such id" makes the event undecodable; a registry that is down or erring is an outage, which
      // the projection runtime waits out instead of dead-lettering (or a rebuild leaving out) healthy events.
      definition = await this.registry.schemaById(schemaId).catch((error: unknown) => {
        if (error instanceof SchemaNotFoundError) throw new UndecodableEventError(`unknown schema id ${schemaId}`);
        throw error;
      });
    }
    const type = avro.Type.forSchema(definition);
    const writer = { recordName: type.name ?? 'unknown', type };
    this.writers.set(schemaId, writer);
    return writer;
  }
}
