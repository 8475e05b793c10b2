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

/** The registry answered and does not know the id: unlike an outage, asking again will not help. */
export class SchemaNotFoundError extends Error {
  readonly code = 'SCHEMA_NOT_FOUND';
}

/**
 * The Confluent REST API over fetch, every call bounded by a timeout. The codec registered through
 * @kafkajs/confluent-schema-registry at first, but that client hung for good (no request sent, no timeout) on the
 * sixth registration of a run against our Apicurio registry, which froze start-up; it is still used by the smoke
 * test, as a Confluent-aware client reading what we write.
 */
export function createRegistryClient(baseUrl: string, timeoutMs = 5000): SchemaRegistryClient {
  const base = baseUrl.replace(/\/$/, '');
  const rest = async (path: string, init?: RequestInit): Promise<Response> => {
    try {
      return await fetch(`${base}${path}`, {
        ...init,
        headers: { 'content-type': 'application/vnd.schemaregistry.v1+json', ...init?.headers },
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      throw new RegistryUnavailableError(`schema registry at ${base} is unreachable: ${(error as Error).message}`);
    }
  };
  const failure = async (response: Response, what: string): Promise<Error> => {
    const body = await response.text().catch(() => '');
    return new Error(`${what}: registry answered ${response.status} ${body.slice(0, 500)}`);
  };
  return {
    async register(subject, definition) {
      // BACKWARD is the registry's rule (global default); a breaking schema is refused here with 409.
      const response = await rest(`/subjects/${encodeURIComponent(subject)}/versions`, {
        method: 'POST',
        body: JSON.stringify({ schemaType: 'AVRO', schema: JSON.stringify(definition) }),
      });
      if (!response.ok) throw await failure(response, `registering ${subject}`);
      return ((await response.json()) as { id: number }).id;
    },
    async schemaById(id) {
      const response = await rest(`/schemas/ids/${id}`);
      if (response.status === 404) throw new SchemaNotFoundError(`the registry has no schema ${id}`);
      if (!response.ok) throw await failure(response, `schema ${id}`);
      const body = (await response.json()) as { schema: string };
      return JSON.parse(body.schema) as avro.Schema;
    },
    async isCompatible(subject, definition) {
      const response = await rest(`/compatibility/subjects/${encodeURIComponent(subject)}/versions/latest`, {
        method: 'POST',
        body: JSON.stringify({ schemaType: 'AVRO', schema: JSON.stringify(definition) }),
      });
      if (response.status === 404) return true;
      if (!response.ok) throw await failure(response, `compatibility check of ${subject}`);
      return ((await response.json()) as { is_compatible: boolean }).is_compatible;
    },
    async ping() {
      // The global config is a constant-size answer; /subjects grows with every subject ever registered.
      const response = await rest('/config');
      if (!response.ok) throw new RegistryUnavailableError(`schema registry answered ${response.status}`);
    },
  };
}
