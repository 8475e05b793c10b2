import type { Knex } from 'knex';

export interface SagaView {
  readonly sagaType: string;
  readonly sagaId: string;
  readonly status: string;
  readonly version: number;
  readonly state: unknown;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly timeline: { at: string; kind: string; detail: unknown }[];
  readonly commands: { step: string; kind: string; status: string; attempts: number; lastError: string | null }[];
  readonly deadlines: { name: string; dueAt: string; status: string; firedAt: string | null }[];
}

const iso = (v: unknown): string => (v instanceof Date ? v.toISOString() : String(v));

/** A saga's state and timeline, for the CLI and dashboards (null when there is no such saga). */
export async function sagaView(db: Knex, sagaType: string, sagaId: string): Promise<SagaView | null> {
  const exists = await db.schema.hasTable('saga_instances');
  if (!exists) return null;
  const row = await db('saga_instances').where({ saga_type: sagaType, saga_id: sagaId }).first();
  if (!row) return null;
  const key = { saga_type: sagaType, saga_id: sagaId };
  const [timeline, commands, deadlines] = await Promise.all([
    db('saga_timeline').where(key).orderBy('id').select('at', 'kind', 'detail'),
    db('saga_commands').where(key).orderBy('id').select('step', 'kind', 'status', 'attempts', 'last_error'),
    db('saga_deadlines').where(key).orderBy('id').select('name', 'due_at', 'status', 'fired_at'),
  ]);
  return {
    sagaType,
    sagaId,
    status: row.status as string,
    version: row.version as number,
    state: row.state,
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
    timeline: timeline.map((t) => ({ at: iso(t.at), kind: t.kind as string, detail: t.detail })),
    commands: commands.map((c) => ({
      step: c.step as string,
      kind: c.kind as string,
      status: c.status as string,
      attempts: c.attempts as number,
      lastError: (c.last_error as string | null) ?? null,
    })),
    deadlines: deadlines.map((d) => ({
      name: d.name as string,
      dueAt: iso(d.due_at),
      status: d.status as string,
      firedAt: d.fired_at ? iso(d.fired_at) : null,
    })),
  };
}
