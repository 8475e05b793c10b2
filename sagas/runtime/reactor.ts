import type { Knex } from 'knex';
import { countDuplicates } from '../../runtime/consumer/observe.js';
import type { ProjectedEvent } from '../../runtime/consumer/types.js';
import { planReactions, type SagaEvent } from './batch-plan.js';
import { lockSagas, markProcessed, processedKey, writePlan } from './batch-store.js';
import { SagaVersionConflict } from './store.js';
import type { SagaDefinition } from './types.js';

const MAX_ATTEMPTS = 10;

/** What became of one event: applied to its saga, skipped as applied before, or none of the saga's business. */
export type ReactionOutcome = 'applied' | 'duplicate' | 'ignored';

/**
 * Applies a batch of events to their sagas in one transaction, exactly once each: the event ids are recorded in
 * the same transaction as the new states, the commands, deadlines and timeline, so a redelivered event changes
 * nothing and performs no command twice, and a failure anywhere in the batch commits none of it (the batch is
 * delivered again and reacted to once). Each saga's events are applied in batch order (per topic, a saga's events
 * share a partition and so come in order: see sagaAsProjection). A concurrent change of one of the sagas (a saga
 * started by another batch, a deadlock PostgreSQL broke, a serialization failure) decides the batch again on fresh
 * state. Returns the outcome of each event, in order.
 */
export async function reactToBatch<State>(
  db: Knex,
  definition: SagaDefinition<State>,
  events: readonly ProjectedEvent[],
  now: () => Date,
): Promise<ReactionOutcome[]> {
  for (let attempt = 1; ; attempt++) {
    try {
      const outcomes = await db.transaction((trx) => reactInTransaction(trx, definition, events, now));
      // Counted once committed: the runner feeding this batch turns it into projection_duplicates_skipped_total.
      countDuplicates(outcomes.filter((o) => o === 'duplicate').length);
      return outcomes;
    } catch (error) {
      const code = (error as { code?: string }).code;
      const retryable = error instanceof SagaVersionConflict || code === '40P01' || code === '40001';
      if (!retryable || attempt >= MAX_ATTEMPTS) throw error;
      await new Promise((r) => setTimeout(r, 10 * attempt));
    }
  }
}

/** Applies one event to its saga, exactly once (a batch of one: see reactToBatch). */
export async function reactToEvent<State>(
  db: Knex,
  definition: SagaDefinition<State>,
  event: ProjectedEvent,
  now: () => Date,
): Promise<ReactionOutcome> {
  const [outcome] = await reactToBatch(db, definition, [event], now);
  return outcome!;
}

async function reactInTransaction<State>(
  trx: Knex.Transaction,
  definition: SagaDefinition<State>,
  events: readonly ProjectedEvent[],
  now: () => Date,
): Promise<ReactionOutcome[]> {
  const outcomes: ReactionOutcome[] = events.map(() => 'ignored');
  // The events of some saga, each once: a second copy of an event in the same batch (the relay re-published it
  // after a crash) is a duplicate like any redelivery.
  const candidates: { index: number; sagaId: string; event: ProjectedEvent }[] = [];
  const inBatch = new Set<string>();
  events.forEach((event, index) => {
    const sagaId = definition.correlationId(event);
    if (!sagaId) return;
    const key = processedKey(sagaId, event.eventId);
    if (inBatch.has(key)) {
      outcomes[index] = 'duplicate';
      return;
    }
    inBatch.add(key);
    candidates.push({ index, sagaId, event });
  });
  const fresh = await markProcessed(
    trx,
    definition.name,
    candidates.map((c) => ({ sagaId: c.sagaId, eventId: c.event.eventId })),
  );
  const toApply: (SagaEvent & { index: number })[] = [];
  for (const c of candidates) {
    if (fresh.has(processedKey(c.sagaId, c.event.eventId))) toApply.push(c);
    else outcomes[c.index] = 'duplicate';
  }
  if (toApply.length === 0) return outcomes;
  const loaded = await lockSagas<State>(trx, definition.name, [...new Set(toApply.map((e) => e.sagaId))]);
  const { plan, applied } = planReactions(definition, loaded, toApply, now);
  await writePlan(trx, definition.name, plan);
  applied.forEach((yes, i) => {
    if (yes) outcomes[toApply[i]!.index] = 'applied';
  });
  return outcomes;
}
