import type { Knex } from 'knex';
import { Counter, type Registry } from 'prom-client';
import type { Logger } from '../../runtime/log.js';
import { BackgroundLoop } from '../../runtime/loop.js';

/**
 * Deletes up to `limit` idempotency keys recorded before `before`; returns how many. Rows another pruner is
 * deleting right now are skipped, so several relays pruning at once never wait on or deadlock with each other.
 */
export async function pruneIdempotencyKeys(db: Knex, before: Date, limit = 5000): Promise<number> {
  const result = await db.raw(
    `DELETE FROM idempotency_keys WHERE ctid = ANY (ARRAY(
       SELECT ctid FROM idempotency_keys WHERE created_at < ? ORDER BY created_at LIMIT ? FOR UPDATE SKIP LOCKED
     ))`,
    [before, limit],
  );
  return result.rowCount ?? 0;
}

export interface PrunerOptions {
  /** Keys older than this are forgotten: a retry after it appends again (if its command still applies). */
  readonly ttlMs: number;
  readonly batchSize?: number;
  /** Pause once everything due is pruned. */
  readonly idleMs?: number;
  readonly metrics?: Registry;
  readonly now?: () => Date;
}

/**
 * Keeps `idempotency_keys` from growing forever: a client retries within minutes or hours, not weeks. Runs in the
 * relay process, in batches, so one large backlog never holds a long transaction.
 */
export class IdempotencyKeyPruner {
  private readonly loop: BackgroundLoop;
  private readonly pruned: Counter;

  constructor(
    private readonly db: Knex,
    logger: Logger,
    private readonly options: PrunerOptions,
  ) {
    this.pruned = new Counter({
      name: 'idempotency_keys_pruned_total',
      help: 'Idempotency keys deleted after their retention period',
      registers: options.metrics ? [options.metrics] : [],
    });
    this.loop = new BackgroundLoop('idempotency key pruning', () => this.pruneBatch(), logger, {
      idleMs: options.idleMs ?? 10 * 60_000,
      backoffMs: 1000,
      maxBackoffMs: 60_000,
    });
  }

  /** One batch; true when it was full (more may be due). */
  async pruneBatch(): Promise<boolean> {
    const batchSize = this.options.batchSize ?? 5000;
    const now = this.options.now?.() ?? new Date();
    const deleted = await pruneIdempotencyKeys(this.db, new Date(now.getTime() - this.options.ttlMs), batchSize);
    this.pruned.inc(deleted);
    return deleted === batchSize;
  }

  start(): void {
    this.loop.start();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }
}
