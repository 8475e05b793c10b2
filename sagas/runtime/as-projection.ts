import type { Knex } from 'knex';
import type { Projection } from '../../runtime/consumer/types.js';
import { reactToEvent } from './reactor.js';
import type { SagaDefinition } from './types.js';

/**
 * A saga fed by the projection runtime's Kafka consumer (batches, retries, dead letters, lag metrics): each event
 * of a batch is applied to its saga in order, exactly once (see reactToEvent).
 */
export function sagaAsProjection<State>(
  db: Knex,
  definition: SagaDefinition<State>,
  now: () => Date = () => new Date(),
): Projection {
  return {
    name: `saga.${definition.name}`,
    version: 1,
    topics: definition.topics,
    setup: async () => undefined,
    drop: async () => undefined,
    async applyBatch(events) {
      for (const event of events) await reactToEvent(db, definition, event, now);
    },
  };
}
