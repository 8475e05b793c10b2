import type { Kafka, Producer, ProducerConfig } from 'kafkajs';

/**
 * The relay's producer settings, in one place so that the relay process and the benchmarks that measure it cannot
 * drift apart. Not kafkajs's idempotent producer: after a timed-out request it reuses sequence numbers across
 * concurrent sends, and the broker may then drop a later batch as a "duplicate" (tulios/kafkajs#598). The relay
 * accepts duplicates (consumers dedupe by event id and stream version) but never a loss. One request in flight per
 * broker keeps a retried batch ahead of the next one, so per-stream order survives retries. Topics are created by
 * the relay's start-up, never implicitly by a send.
 */
export const RELAY_PRODUCER_CONFIG: Readonly<ProducerConfig> = {
  idempotent: false,
  maxInFlightRequests: 1,
  allowAutoTopicCreation: false,
};

/** The producer `commands/relay/main.ts` publishes the outbox with (not yet connected). */
export function createRelayProducer(kafka: Kafka): Producer {
  return kafka.producer({ ...RELAY_PRODUCER_CONFIG });
}
