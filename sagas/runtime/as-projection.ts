import type { Knex } from 'knex';
import type { Projection } from '../../runtime/consumer/types.js';
import { reactToBatch } from './reactor.js';
import type { SagaDefinition } from './types.js';

/**
 * A saga fed by the projection runtime's Kafka consumer (batches, retries, dead letters, lag metrics): each batch
 * is applied in one transaction, each event to its saga exactly once and in order per saga (see reactToBatch).
 *
 * Order per saga holds because a batch is one partition's messages, in offset order, and the relay keys every
 * message by its stream id (commands/relay/outbox-relay.ts): all the events of one stream are on one partition, in
 * stream order. A saga correlates the events of a few streams (the order saga: `order-<id>` on ordering.order and
 * `payment-<id>` on ordering.payment, by `data.orderId`); events of different streams share no order on Kafka
 * anyway (different topics, or partitions), so a saga must take them in any interleaving, as the order saga does.
 * Partitions consumed side by side (RunnerOptions.partitionsConsumedConcurrently) may thus hold events of one saga
 * in two batches at once: each batch locks its sagas' rows (in id order), so they apply one after the other.
 */
export function sagaAsProjection<State>(
  db: Knex,
  definition: SagaDefinition<State>,
  now: () => Date = () => new Date(),
  /** Called once a batch's reactions are committed (the commands they issued can be claimed now). */
  applied: () => void = () => undefined,
): Projection {
  return {
    name: `saga.${definition.name}`,
    version: 1,
    topics: definition.topics,
    setup: async () => undefined,
    drop: async () => undefined,
    async applyBatch(events) {
      await reactToBatch(db, definition, events, now);
      applied();
    },
  };
}
