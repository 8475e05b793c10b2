// The event log as every role sees it: what the write side appends, what rebuilds and replays read back.
// Types and a read-only port only; the write side's EventStore implements it.

export interface EventMetadata {
  readonly correlationId: string;
  readonly causationId: string | null;
  readonly actor: string;
  readonly traceId?: string;
}

/** An event already encoded (Confluent wire format) and ready to append. */
export interface EncodedEvent {
  readonly eventId: string;
  readonly eventType: string;
  readonly schemaId: number;
  readonly payload: Buffer;
}

export interface RecordedEvent extends EncodedEvent {
  readonly globalPosition: number;
  readonly streamId: string;
  readonly streamType: string;
  readonly streamVersion: number;
  readonly metadata: EventMetadata;
  readonly recordedAt: Date;
}

/** What a rebuild needs of the store: a safe upper bound and the events below it in global order. */
export interface EventLogReader {
  /** A global position at or below which every event is committed (no append in flight below it). */
  safeHighWaterMark(): Promise<number>;
  /** Events after `after` up to `upTo`, in global order, optionally of some stream types only. */
  readAll(after: number, upTo: number, limit?: number, streamTypes?: readonly string[]): Promise<RecordedEvent[]>;
  /** How many events of these stream types lie at or below `upTo` (a rebuild's progress total). */
  countUpTo(upTo: number, streamTypes: readonly string[]): Promise<number>;
}
