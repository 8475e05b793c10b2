import type { Knex } from 'knex';
import { readSaga, type SagaInstance, sagaTablesExist } from '../../sagas/runtime/read.js';

export interface SagaView extends SagaInstance {
  readonly timeline: { at: string; kind: string; detail: unknown }[];
  readonly commands: { step: string; kind: string; status: string; attempts: number; lastError: string | null }[];
  readonly deadlines: { name: string; dueAt: string; status: string; firedAt: string | null }[];
}

/**
 * A saga's state and timeline for dashboards (null when there is no such saga). Command payloads stay out of the
 * HTTP view: they carry what the provider was sent; the engineers' CLI (`ledger sagas show`) shows them.
 */
export async function sagaView(db: Knex, sagaType: string, sagaId: string): Promise<SagaView | null> {
  if (!(await sagaTablesExist(db))) return null;
  const saga = await readSaga(db, sagaType, sagaId);
  if (!saga) return null;
  const { timeline, commands, deadlines, ...instance } = saga;
  return {
    ...instance,
    timeline: [...timeline],
    commands: commands.map(({ step, kind, status, attempts, lastError }) => ({
      step,
      kind,
      status,
      attempts,
      lastError,
    })),
    deadlines: [...deadlines],
  };
}
