import type { Knex } from 'knex';

/** A saga instance: where it stands. */
export interface SagaInstance {
  readonly sagaType: string;
  readonly sagaId: string;
  readonly status: string;
  readonly version: number;
  readonly state: unknown;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** Everything the saga runtime keeps about one saga instance (sagas/runtime/tables.ts), read-only. */
export interface SagaRecord extends SagaInstance {
  readonly timeline: readonly { readonly at: string; readonly kind: string; readonly detail: unknown }[];
  readonly commands: readonly {
    readonly step: string;
    readonly kind: string;
    readonly status: string;
    readonly attempts: number;
    readonly payload: unknown;
    readonly lastError: string | null;
    readonly nextAttemptAt: string;
    readonly createdAt: string;
    readonly doneAt: string | null;
  }[];
  readonly deadlines: readonly {
    readonly name: string;
    readonly dueAt: string;
    readonly status: string;
    readonly firedAt: string | null;
  }[];
}

const iso = (value: Date | null): string | null => (value ? value.toISOString() : null);

/** Whether this database has the saga runtime's tables (they are created by the first saga process). */
export const sagaTablesExist = (db: Knex): Promise<boolean> => db.schema.hasTable('saga_instances');

/** The saga types that have an instance with this id (usually one). */
export async function sagaTypesOf(db: Knex, sagaId: string): Promise<string[]> {
  return db('saga_instances').where('saga_id', sagaId).orderBy('saga_type').pluck('saga_type');
}

/** One saga with its timeline, commands and deadlines; null when there is no such saga. */
export async function readSaga(db: Knex, sagaType: string, sagaId: string): Promise<SagaRecord | null> {
  const key = { saga_type: sagaType, saga_id: sagaId };
  const row: { status: string; version: number; state: unknown; created_at: Date; updated_at: Date } | undefined =
    await db('saga_instances').where(key).first();
  if (!row) return null;
  const [timeline, commands, deadlines] = await Promise.all([
    db('saga_timeline').where(key).orderBy('id').select('at', 'kind', 'detail') as Promise<
      { at: Date; kind: string; detail: unknown }[]
    >,
    db('saga_commands').where(key).orderBy('id').select() as Promise<
      {
        step: string;
        kind: string;
        status: string;
        attempts: number;
        payload: unknown;
        last_error: string | null;
        next_attempt_at: Date;
        created_at: Date;
        done_at: Date | null;
      }[]
    >,
    db('saga_deadlines')
      .where(key)
      .orderBy(['due_at', 'name'])
      .select('name', 'due_at', 'status', 'fired_at') as Promise<
      { name: string; due_at: Date; status: string; fired_at: Date | null }[]
    >,
  ]);
  return {
    sagaType,
    sagaId,
    status: row.status,
    version: row.version,
    state: row.state,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
    timeline: timeline.map((t) => ({ at: t.at.toISOString(), kind: t.kind, detail: t.detail })),
    commands: commands.map((c) => ({
      step: c.step,
      kind: c.kind,
      status: c.status,
      attempts: c.attempts,
      payload: c.payload,
      lastError: c.last_error,
      nextAttemptAt: c.next_attempt_at.toISOString(),
      createdAt: c.created_at.toISOString(),
      doneAt: iso(c.done_at),
    })),
    deadlines: deadlines.map((d) => ({
      name: d.name,
      dueAt: d.due_at.toISOString(),
      status: d.status,
      firedAt: iso(d.fired_at),
    })),
  };
}
