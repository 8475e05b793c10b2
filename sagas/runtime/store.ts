import type { Knex } from 'knex';
import type { Reaction, SagaDefinition } from './types.js';

export class SagaVersionConflict extends Error {
  readonly code = 'SAGA_VERSION_CONFLICT';
}

/** What the events a saga command appends carry as their correlation, causation and trace ids. */
export interface CommandCause {
  readonly correlationId: string;
  readonly causationId: string;
  readonly traceId?: string;
}

export interface LoadedSaga<State> {
  readonly state: State;
  /** 0 when the saga does not exist yet. */
  readonly version: number;
  /** The flow the saga belongs to (its first event's correlation and trace); null for sagas from before. */
  readonly origin?: CommandCause | null;
}

export async function loadSaga<State>(
  trx: Knex | Knex.Transaction,
  definition: SagaDefinition<State>,
  sagaId: string,
): Promise<LoadedSaga<State> | null> {
  const row = await trx('saga_instances')
    .where({ saga_type: definition.name, saga_id: sagaId })
    .first('state', 'version', 'origin');
  return row
    ? { state: row.state as State, version: row.version as number, origin: (row.origin as CommandCause | null) ?? null }
    : null;
}

/** A saga command's idempotency key: the same for every attempt of the step, across processes, restarts and retries. */
export const idempotencyKeyOf = (sagaType: string, sagaId: string, step: string): string =>
  `${sagaType}:${sagaId}:${step}`;

export async function timeline(
  trx: Knex | Knex.Transaction,
  sagaType: string,
  sagaId: string,
  kind: string,
  detail: Record<string, unknown>,
): Promise<void> {
  await trx('saga_timeline').insert({ saga_type: sagaType, saga_id: sagaId, kind, detail: JSON.stringify(detail) });
}

/**
 * Persists a reaction in the caller's transaction: the new state (optimistically, at the version it was decided
 * from), the commands to perform (once per step), deadlines scheduled or cancelled, and a timeline entry.
 */
export async function persistReaction<State>(
  trx: Knex.Transaction,
  definition: SagaDefinition<State>,
  sagaId: string,
  from: LoadedSaga<State> | null,
  reaction: Reaction<State>,
  entry: { kind: string; detail: Record<string, unknown> },
  /** The event reacted to; null for a deadline or a failed command (the saga's origin stands in). */
  cause: CommandCause | null = null,
): Promise<void> {
  const key = { saga_type: definition.name, saga_id: sagaId };
  const status = definition.status(reaction.state);
  const state = JSON.stringify(reaction.state);
  if (!from) {
    const inserted = await trx('saga_instances')
      .insert({ ...key, status, state, version: 1, origin: cause ? JSON.stringify(cause) : null })
      .onConflict(['saga_type', 'saga_id'])
      .ignore()
      .returning('version');
    if (inserted.length === 0) throw new SagaVersionConflict(`saga ${sagaId} was started concurrently`);
  } else {
    const updated = await trx('saga_instances')
      .where({ ...key, version: from.version })
      .update({ status, state, version: from.version + 1, updated_at: trx.fn.now() });
    if (updated === 0) throw new SagaVersionConflict(`saga ${sagaId} changed since version ${from.version}`);
  }
  const commandCause = cause
    ? JSON.stringify(cause)
    : trx.raw('(SELECT origin FROM saga_instances WHERE saga_type = ? AND saga_id = ?)', [key.saga_type, sagaId]);
  for (const command of reaction.commands ?? []) {
    await trx('saga_commands')
      .insert({
        ...key,
        step: command.step,
        kind: command.kind,
        payload: JSON.stringify(command.payload),
        cause: commandCause,
      })
      .onConflict(['saga_type', 'saga_id', 'step'])
      .ignore();
  }
  for (const deadline of reaction.schedule ?? []) {
    await trx('saga_deadlines')
      .insert({ ...key, name: deadline.name, due_at: deadline.dueAt, status: 'scheduled' })
      .onConflict(['saga_type', 'saga_id', 'name'])
      .merge({ due_at: deadline.dueAt, status: 'scheduled' });
  }
  if (reaction.cancel?.length) {
    await trx('saga_deadlines')
      .where(key)
      .whereIn('name', reaction.cancel)
      .andWhere('status', 'scheduled')
      .update({ status: 'cancelled' });
  }
  await timeline(trx, definition.name, sagaId, entry.kind, reactionDetail(entry.detail, status, reaction));
}

/** A reaction's timeline entry: what caused it, the status it left, its note and the effects it asked for. */
export function reactionDetail(
  cause: Record<string, unknown>,
  status: string,
  reaction: Reaction<unknown>,
): Record<string, unknown> {
  return {
    ...cause,
    status,
    ...(reaction.note ? { note: reaction.note } : {}),
    ...(reaction.commands?.length ? { commands: reaction.commands.map((c) => c.step) } : {}),
    ...(reaction.schedule?.length ? { scheduled: reaction.schedule.map((d) => d.name) } : {}),
    ...(reaction.cancel?.length ? { cancelled: reaction.cancel } : {}),
  };
}
