import type { Knex } from 'knex';
import type { Logger } from '../../runtime/log.js';
import { BackgroundLoop } from '../../runtime/loop.js';
import { loadSaga, persistReaction } from './store.js';
import type { SagaDefinition } from './types.js';

/**
 * Fires due deadlines. A deadline is claimed FOR UPDATE SKIP LOCKED, handed to its saga, and marked fired in the
 * same transaction: if the process dies half-way nothing is marked, so it fires after a restart — and no two
 * processes can fire the same one.
 */
export class DeadlineScheduler {
  private readonly worker: BackgroundLoop;
  private readonly definitions = new Map<string, SagaDefinition<unknown>>();

  constructor(
    private readonly db: Knex,
    private readonly logger: Logger,
    pollMs = 250,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.worker = new BackgroundLoop('deadline scheduler', () => this.fireOne(), logger, {
      idleMs: pollMs,
      backoffMs: 1000,
    });
  }

  register<State>(definition: SagaDefinition<State>): this {
    this.definitions.set(definition.name, definition as SagaDefinition<unknown>);
    return this;
  }

  start(): void {
    this.worker.start();
  }

  stop(): Promise<void> {
    return this.worker.stop();
  }

  /** Fires the most overdue deadline, if any is due; returns whether one fired. */
  fireOne(): Promise<boolean> {
    const types = [...this.definitions.keys()];
    return this.db.transaction(async (trx) => {
      // Locks in the order every other writer of a saga takes them — the saga's row, then its deadlines — or a
      // deadline falling due while the restaurant accepts would deadlock with the event's reaction.
      const candidate = await trx('saga_deadlines')
        .where('status', 'scheduled')
        .andWhere('due_at', '<=', this.now())
        .whereIn('saga_type', types)
        .orderBy('due_at')
        .first('id', 'saga_type', 'saga_id');
      if (!candidate) return false;
      await trx('saga_instances')
        .where({ saga_type: candidate.saga_type, saga_id: candidate.saga_id })
        .forUpdate()
        .first('version');
      const due = await trx('saga_deadlines')
        .where({ id: candidate.id, status: 'scheduled' })
        .forUpdate()
        .skipLocked()
        .first('id', 'saga_type', 'saga_id', 'name', 'due_at');
      if (!due) return true; // fired, cancelled or taken by another process meanwhile
      await trx('saga_deadlines').where('id', due.id).update({ status: 'fired', fired_at: trx.fn.now() });
      const definition = this.definitions.get(due.saga_type as string)!;
      const loaded = await loadSaga(trx, definition, due.saga_id as string);
      if (!loaded) return true;
      const reaction = definition.onDeadline(loaded.state, due.name as string, this.now()) ?? { state: loaded.state };
      await persistReaction(trx, definition, due.saga_id as string, loaded, reaction, {
        kind: 'deadline',
        detail: { name: due.name, dueAt: (due.due_at as Date).toISOString() },
      });
      this.logger.info({ saga: due.saga_type, sagaId: due.saga_id, deadline: due.name }, 'deadline fired');
      return true;
    });
  }
}
