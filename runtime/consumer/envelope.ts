import type { KafkaMessage } from 'kafkajs';
import type { EventCodec } from '../../schemas/codec.js';
import type { ProjectedEvent } from './types.js';

export class MalformedMessageError extends Error {
  readonly code = 'MALFORMED_MESSAGE';
}

const header = (message: KafkaMessage, name: string): string | undefined => {
  const value = message.headers?.[name];
  if (value === undefined) return undefined;
  return Array.isArray(value) ? String(value[0]) : String(value);
};

/** Turns a Kafka message of the contract (headers + Confluent Avro value) into what projections consume. */
export async function toProjectedEvent(codec: EventCodec, message: KafkaMessage): Promise<ProjectedEvent> {
  const eventId = header(message, 'event-id');
  const streamId = header(message, 'stream-id') ?? message.key?.toString();
  const streamVersion = Number(header(message, 'stream-version'));
  const globalPosition = Number(header(message, 'global-position'));
  if (!eventId || !streamId || !Number.isInteger(streamVersion) || !Number.isInteger(globalPosition)) {
    throw new MalformedMessageError('message lacks the event-id, stream-id, stream-version or global-position header');
  }
  if (!message.value) throw new MalformedMessageError('message has no value');
  const decoded = await codec.decode(message.value);
  return {
    eventId,
    eventType: decoded.eventType,
    streamId,
    streamVersion,
    globalPosition,
    recordedAt: header(message, 'recorded-at') ?? new Date(Number(message.timestamp)).toISOString(),
    correlationId: header(message, 'correlation-id') ?? '',
    ...(header(message, 'trace-id') ? { traceId: header(message, 'trace-id') } : {}),
    data: decoded.data,
  };
}
