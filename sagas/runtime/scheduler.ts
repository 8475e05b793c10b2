import type { Knex } from 'knex';
import type { Logger } from '../../runtime/log.js';
import { BackgroundLoop } from '../../runtime/loop.js';
import { commandsOfSaga } from './claims.js';
import { loadSaga, persistReaction, timeline } from './store.js';
import type { SagaDefinition } from './types.js';

export interface SchedulerOptions {
  /** Pause when no deadline is due (default 250 ms). */
  readonly pollMs?: number;
  /** How long a deadline is put off while one of its saga's commands is being performed (default 1 s). */
  readonly deferMs?: number;
  readonly now?: () => Date;
}

/**
 * Fires due deadlines. A deadline is claimed FOR UPDATE SKIP LOCKED, handed to its saga with the saga's record of
 * its commands, and marked fired in the same transaction: if the process dies half-way nothing is marked, so it
 * fires after a restart — and no two processes can fire the same one. While one of the saga's commands is being
 * performed the deadline is not fired but put off (a little later, still scheduled): its outcome is about to be
 * recorded, and the saga decides on what it did, not on what it has not heard back yet. A crashed performer's claim
 * is a lease that runs out (`leaseMs` of the dispatcher), so nothing puts a deadline off for good.
 */
export class DeadlineScheduler {
  private readonly worker: BackgroundLoop;
  private readonly definitions = new Map<string, SagaDefinition<unknown>>();
  private readonly now: () => Date;
  private readonly deferMs: number;

  constructor(
    private readonly db: Knex,
    private readonly logger: Logger,
    options: SchedulerOptions = {},
  ) {
    this.now = options.now ?? (() => new Date());
    this.deferMs = options.deferMs ?? 1000;
    this.worker = new BackgroundLoop('deadline scheduler', () => this.fireOne(), logger, {
      idleMs: options.pollMs ?? 250,
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

  /** Fires (or puts off) the most overdue deadline, if any is due; returns whether there was one. */
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
      const sagaType = due.saga_type as string;
      const sagaId = due.saga_id as string;
      const name = due.name as string;
      const dueAt = (due.due_at as Date).toISOString();
      // The saga's row is held: no command of it is added meanwhile, and those read stay as read (see commandsOfSaga).
      const commands = await commandsOfSaga(trx, sagaType, sagaId);
      if (commands.inFlight.length > 0) {
        const until = new Date(this.now().getTime() + this.deferMs);
        await trx('saga_deadlines').where('id', due.id).update({ due_at: until });
        await timeline(trx, sagaType, sagaId, 'deadline-deferred', {
          name,
          dueAt,
          until: until.toISOString(),
          inFlight: commands.inFlight,
        });
        this.logger.debug({ saga: sagaType, sagaId, deadline: name, inFlight: commands.inFlight }, 'deadline put off');
        return true;
      }
      await trx('saga_deadlines').where('id', due.id).update({ status: 'fired', fired_at: trx.fn.now() });
      const definition = this.definitions.get(sagaType)!;
      const loaded = await loadSaga(trx, definition, sagaId);
      if (!loaded) return true;
      const reaction = definition.onDeadline(loaded.state, name, this.now(), commands.record) ?? {
        state: loaded.state,
      };
      await persistReaction(trx, definition, sagaId, loaded, reaction, {
        kind: 'deadline',
        detail: { name, dueAt },
      });
      this.logger.info({ saga: sagaType, sagaId, deadline: name }, 'deadline fired');
      return true;
    });
  }
}
