import type { EventMetadata, RecordedEvent } from '../../commands/store/event-store.js';

export { type EventRow, toRecorded } from '../../commands/store/event-store.js';

import type { EventCodec } from '../../schemas/codec.js';
import { toJson } from './output.js';

/** One stored event as the CLI prints it (the `--json` shape of an event; see ops/cli/README.md). */
export interface EventView {
  readonly globalPosition: number;
  readonly streamId: string;
  readonly streamType: string;
  readonly streamVersion: number;
  readonly eventId: string;
  readonly eventType: string;
  readonly schemaId: number;
  readonly recordedAt: string;
  readonly metadata: EventMetadata;
  /** The payload decoded with its writer schema and resolved to this build's reader schema. */
  readonly data: Readonly<Record<string, unknown>> | null;
  /** Why `data` is null: the payload could not be decoded (unknown schema, corrupt bytes). */
  readonly decodeError: string | null;
}

/** Decodes one event; an undecodable payload is shown with its reason instead of failing the whole listing. */
export async function viewOf(codec: EventCodec, event: RecordedEvent): Promise<EventView> {
  const base = {
    globalPosition: event.globalPosition,
    streamId: event.streamId,
    streamType: event.streamType,
    streamVersion: event.streamVersion,
    eventId: event.eventId,
    eventType: event.eventType,
    schemaId: event.schemaId,
    recordedAt: event.recordedAt.toISOString(),
    metadata: event.metadata,
  };
  try {
    const decoded = await codec.decode(event.payload);
    return { ...base, data: decoded.data, decodeError: null };
  } catch (error) {
    return { ...base, data: null, decodeError: (error as Error).message };
  }
}

/** Human rendering: a heading line, then the metadata and the data indented. */
export function renderEvent(e: EventView): string {
  const meta = [`correlation ${e.metadata.correlationId}`, `actor ${e.metadata.actor}`];
  if (e.metadata.causationId) meta.push(`causation ${e.metadata.causationId}`);
  if (e.metadata.traceId) meta.push(`trace ${e.metadata.traceId}`);
  const body = e.data ? JSON.stringify(toJson(e.data), null, 2) : `(undecodable: ${e.decodeError})`;
  return [
    `v${e.streamVersion}  ${e.eventType}  position ${e.globalPosition}  ${e.recordedAt}  schema ${e.schemaId}`,
    `  event ${e.eventId}  ${meta.join('  ')}`,
    ...body.split('\n').map((l) => `  ${l}`),
  ].join('\n');
}
