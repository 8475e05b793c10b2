import { COMPATIBILITY, SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import type avro from 'avsc';

/** The part of a Confluent-compatible schema registry this project uses. */
export interface SchemaRegistryClient {
  /** Registers (or finds) the schema under the subject and returns its id; a BACKWARD-incompatible change throws. */
  register(subject: string, definition: avro.Schema): Promise<number>;
  schemaById(id: number): Promise<avro.Schema>;
  /** Whether `definition` may be registered as the next version of `subject` (true when the subject is new). */
  isCompatible(subject: string, definition: avro.Schema): Promise<boolean>;
  ping(): Promise<void>;
}

export class RegistryUnavailableError extends Error {
  readonly code = 'SCHEMA_REGISTRY_UNAVAILABLE';
}

/** @kafkajs/confluent-schema-registry for registration; plain REST for the calls it does not expose. */
export function createRegistryClient(baseUrl: string): SchemaRegistryClient {
  const base = baseUrl.replace(/\/$/, '');
  const client = new SchemaRegistry({ host: base, retry: { retries: 2 } });
  const rest = async (path: string, init?: RequestInit): Promise<Response> => {
    try {
      return await fetch(`${base}${path}`, {
        ...init,
        headers: { 'content-type': 'application/vnd.schemaregistry.v1+json', ...init?.headers },
        signal: AbortSignal.timeout(5000),
      });
    } catch (error) {
      throw new RegistryUnavailableError(`schema registry at ${base} is unreachable: ${(error as Error).message}`);
    }
  };
  return {
    async register(subject, definition) {
      const { id } = await client.register(
        { type: SchemaType.AVRO, schema: JSON.stringify(definition) },
        { subject, compatibility: COMPATIBILITY.BACKWARD },
      );
      return id;
    },
    async schemaById(id) {
      const response = await rest(`/schemas/ids/${id}`);
      if (!response.ok) throw new Error(`schema ${id}: registry answered ${response.status}`);
      const body = (await response.json()) as { schema: string };
      return JSON.parse(body.schema) as avro.Schema;
    },
    async isCompatible(subject, definition) {
      const response = await rest(`/compatibility/subjects/${encodeURIComponent(subject)}/versions/latest`, {
        method: 'POST',
        body: JSON.stringify({ schemaType: 'AVRO', schema: JSON.stringify(definition) }),
      });
      if (response.status === 404) return true;
      if (!response.ok) throw new Error(`compatibility check of ${subject}: registry answered ${response.status}`);
      return ((await response.json()) as { is_compatible: boolean }).is_compatible;
    },
    async ping() {
      const response = await rest('/subjects');
      if (!response.ok) throw new RegistryUnavailableError(`schema registry answered ${response.status}`);
    },
  };
}
