// What a projection sees of an event: decoded data plus the envelope carried in the Kafka headers.

/** The envelope carried in the Kafka headers, the same for every event. */
export interface EventEnvelope {
  readonly eventId: string;
  readonly streamId: string;
  readonly streamVersion: number;
  readonly globalPosition: number;
  readonly recordedAt: string;
  readonly correlationId: string;
  /** The W3C trace id of the flow, when the event came from a traced request (header `trace-id`). */
  readonly traceId?: string;
}

/** An event as a context's contract types it: `schemas/<context>/events.ts` has one union per aggregate. */
export interface EventShape {
  readonly type: string;
  readonly data: unknown;
}

/** The runtime's view before anyone says which contract applies: any type, the data as decoded. */
export interface UntypedEvent {
  readonly type: string;
  readonly data: Readonly<Record<string, unknown>>;
}

/**
 * What a projection or saga sees of an event: decoded data plus the envelope. `ProjectedEvent<OrderEvent>` is a
 * union over the order's event types, so a `switch (event.eventType)` types `event.data` in each branch.
 */
export type ProjectedEvent<E extends EventShape = UntypedEvent> = E extends EventShape
  ? EventEnvelope & { readonly eventType: E['type']; readonly data: E['data'] }
  : never;

/**
 * The events of a batch as the contract `E` types them. Sound because the codec decoded each payload with the
 * reader schema of its own event type, which `schemas/<context>/events.ts` is generated from: whatever a topic
 * carries is one of the types listed for it. A consumer still ignores types its switch does not name.
 */
export const asContract = <E extends EventShape>(events: readonly ProjectedEvent[]): readonly ProjectedEvent<E>[] =>
  events as unknown as readonly ProjectedEvent<E>[];

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
 * one transaction with the stream versions seen, Redis in a script, the search engine by external versioning;
 * and reports what it skipped with `countDuplicates()` (observe.ts), which the runner counts per consumer
 * (`projection_duplicates_skipped_total`).
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
