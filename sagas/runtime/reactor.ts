import type { Knex } from 'knex';
import { countDuplicates } from '../../runtime/consumer/observe.js';
import type { ProjectedEvent } from '../../runtime/consumer/types.js';
import { type CommandCause, loadSaga, persistReaction, SagaVersionConflict } from './store.js';
import type { SagaDefinition } from './types.js';

const MAX_ATTEMPTS = 10;

/**
 * Applies one event to its saga, exactly once: the event id is recorded in the same transaction as the new
 * state, so a redelivered event changes nothing and performs no command twice. A concurrent change of the same
 * saga (its events come from two topics) is retried on the fresh state.
 */
export async function reactToEvent<State>(
  db: Knex,
  definition: SagaDefinition<State>,
  event: ProjectedEvent,
  now: () => Date,
): Promise<'applied' | 'duplicate' | 'ignored'> {
  const sagaId = definition.correlationId(event);
  if (!sagaId) return 'ignored';
  for (let attempt = 1; ; attempt++) {
    try {
      const outcome = await db.transaction(async (trx) => {
        const seen = await trx('saga_processed_events')
          .insert({ saga_type: definition.name, saga_id: sagaId, event_id: event.eventId })
          .onConflict(['saga_type', 'saga_id', 'event_id'])
          .ignore()
          .returning('event_id');
        if (seen.length === 0) return 'duplicate' as const;
        const loaded = await loadSaga(trx, definition, sagaId);
        if (!loaded && !definition.starts(event)) return 'ignored' as const;
        const state = loaded?.state ?? definition.initialState(sagaId);
        const reaction = definition.react(state, event, now());
        if (!reaction) return 'ignored' as const;
        await persistReaction(
          trx,
          definition,
          sagaId,
          loaded,
          reaction,
          {
            kind: 'event',
            detail: { eventType: event.eventType, eventId: event.eventId, streamVersion: event.streamVersion },
          },
          // The commands continue the saga's flow (the correlation and trace of the event that started it, even
          // when this event came from elsewhere, e.g. a provider's webhook), caused by this event.
          causeOf(event, loaded?.origin ?? null, sagaId),
        );
        return 'applied' as const;
      });
      // Counted once committed: the runner feeding this batch turns it into projection_duplicates_skipped_total.
      if (outcome === 'duplicate') countDuplicates();
      return outcome;
    } catch (error) {
      // A concurrent change of this saga (a version conflict, or PostgreSQL breaking a deadlock or a serialization
      // failure) is decided again on the fresh state.
      const code = (error as { code?: string }).code;
      const retryable = error instanceof SagaVersionConflict || code === '40P01' || code === '40001';
      if (!retryable || attempt >= MAX_ATTEMPTS) throw error;
      await new Promise((r) => setTimeout(r, 10 * attempt));
    }
  }
}

function causeOf(event: ProjectedEvent, origin: CommandCause | null, sagaId: string): CommandCause {
  const traceId = origin?.traceId ?? event.traceId;
  return {
    correlationId: origin?.correlationId ?? (event.correlationId || sagaId),
    causationId: event.eventId,
    ...(traceId ? { traceId } : {}),
  };
}
