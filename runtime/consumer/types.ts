// What a projection sees of an event: decoded data plus the envelope carried in the Kafka headers.
export interface ProjectedEvent {
  readonly eventId: string;
  readonly eventType: string;
  readonly streamId: string;
  readonly streamVersion: number;
  readonly globalPosition: number;
  readonly recordedAt: string;
  readonly correlationId: string;
  /** The W3C trace id of the flow, when the event came from a traced request (header `trace-id`). */
  readonly traceId?: string;
  readonly data: Readonly<Record<string, unknown>>;
}

/** Where a batch came from: the runtime records it as the projection's checkpoint. */
export interface BatchSource {
  readonly topic: string;
  readonly partition: number;
  /** Offset of the last message of the batch. */
  readonly lastOffset: string;
}

/**
 * A read model fed from Kafka. `applyBatch` must be idempotent: the runtime delivers at least once, so a
 * redelivered event (same stream version) must change nothing. Each target does it its own way: PostgreSQL in
 * one transaction with the stream versions seen, Redis in a script, the search engine by external versioning.
 */
export interface Projection {
  /** Stable name, e.g. `ordering.orders`; with the version it names the consumer group and the storage. */
  readonly name: string;
  readonly version: number;
  /** Topics (without the environment's prefix) it consumes. */
  readonly topics: readonly string[];
  /** Creates this version's storage if missing (tables, keys, index). */
  setup(): Promise<void>;
  applyBatch(events: readonly ProjectedEvent[], source: BatchSource): Promise<void>;
  /** Removes this version's storage (after a rebuild switched reads to a newer version). */
  drop(): Promise<void>;
}

/** The consumer group of a projection version. */
export const groupIdOf = (prefix: string, projection: Pick<Projection, 'name' | 'version'>): string =>
  `${prefix}projection.${projection.name}.v${projection.version}`;
