import { isPoison, StreamGapError } from '../../runtime/consumer/failures.js';
import type { ProjectedEvent } from '../../runtime/consumer/types.js';
import type { RecordedEvent } from '../../runtime/event-log.js';
import type { EventCodec } from '../../schemas/codec.js';

/** An event a rebuild or replay left out because it fails the same way however often it is tried. */
export interface IsolatedEvent {
  readonly eventId: string;
  readonly streamId: string;
  readonly streamVersion: number;
  readonly globalPosition: number;
  readonly reason: string;
}

export interface IsolationReport {
  readonly count: number;
  /** The first ones, in log order (the list is capped; `count` is not). */
  readonly events: readonly IsolatedEvent[];
}

/** An event read from the store: decoded, or the poison reason it could not be. */
export type DecodedOrNot =
  | { readonly ok: true; readonly event: ProjectedEvent }
  | { readonly ok: false; readonly event: RecordedEvent; readonly error: unknown };

const LISTED = 100;

const reasonOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

export async function decodeRecorded(codec: EventCodec, e: RecordedEvent): Promise<ProjectedEvent> {
  const decoded = await codec.decode(e.payload);
  return {
    eventId: e.eventId,
    eventType: decoded.eventType,
    streamId: e.streamId,
    streamVersion: e.streamVersion,
    globalPosition: e.globalPosition,
    recordedAt: e.recordedAt.toISOString(),
    correlationId: e.metadata.correlationId,
    ...(e.metadata.traceId ? { traceId: e.metadata.traceId } : {}),
    data: decoded.data,
  };
}

/** Decodes a page; an undecodable event is kept as such, while a registry or database outage still throws. */
export async function decodeEach(codec: EventCodec, page: readonly RecordedEvent[]): Promise<DecodedOrNot[]> {
  return Promise.all(
    page.map(async (event): Promise<DecodedOrNot> => {
      try {
        return { ok: true, event: await decodeRecorded(codec, event) };
      } catch (error) {
        if (!isPoison(error)) throw error;
        return { ok: false, event, error };
      }
    }),
  );
}

/**
 * Applies batches of events from the store the way the live runner treats Kafka messages: a poison event (see
 * isPoison) is left out with its reason, and so is every later event of its stream, as the live runner
 * dead-letters them for the gap. A rebuild finishes despite one bad event instead of aborting on it, and equals
 * the live read model when live met the same poison; the caller decides whether to trust a result with events
 * left out (a rebuild does not switch reads to it unless told to). Outages are not poison: they throw, and the
 * caller stops.
 */
export class PoisonIsolator {
  private readonly isolated: IsolatedEvent[] = [];
  private isolatedCount = 0;
  private readonly gapped = new Map<string, number>();

  constructor(private readonly apply: (events: readonly ProjectedEvent[]) => Promise<number>) {}

  /**
   * Applies a batch in one transaction, less what is already known to be left out (undecodable events and the
   * rest of their streams); only when that transaction fails on poison does it go one event at a time to find
   * it. Returns the events applied.
   */
  async applyBatch(batch: readonly DecodedOrNot[]): Promise<number> {
    const clean: ProjectedEvent[] = [];
    for (const item of batch) {
      const missing = this.gapped.get(item.event.streamId);
      if (missing !== undefined) this.isolateGapped(item.event, missing);
      else if (!item.ok) this.isolate(item.event, reasonOf(item.error), item.event.streamVersion);
      else clean.push(item.event);
    }
    if (clean.length === 0) return 0;
    try {
      return await this.apply(clean);
    } catch (error) {
      if (!isPoison(error)) throw error;
    }
    let applied = 0;
    for (const event of clean) {
      const missing = this.gapped.get(event.streamId);
      if (missing !== undefined) {
        this.isolateGapped(event, missing);
        continue;
      }
      try {
        applied += await this.apply([event]);
      } catch (error) {
        if (!isPoison(error)) throw error;
        // A gap the read model already had (a replay into a projection that lacks earlier versions): the version
        // missing is the one it expected, not this one.
        this.isolate(event, reasonOf(error), error instanceof StreamGapError ? error.expected : event.streamVersion);
      }
    }
    return applied;
  }

  private isolateGapped(event: Omit<IsolatedEvent, 'reason'>, missing: number): void {
    this.isolate(event, `stream ${event.streamId} is missing version ${missing} (left out above)`);
  }

  get count(): number {
    return this.isolatedCount;
  }

  report(): IsolationReport {
    return { count: this.isolatedCount, events: [...this.isolated] };
  }

  private isolate(event: Omit<IsolatedEvent, 'reason'>, reason: string, gapAt?: number): void {
    if (gapAt !== undefined) this.gapped.set(event.streamId, gapAt);
    this.isolatedCount++;
    if (this.isolated.length < LISTED) {
      const { eventId, streamId, streamVersion, globalPosition } = event;
      this.isolated.push({ eventId, streamId, streamVersion, globalPosition, reason });
    }
  }
}
