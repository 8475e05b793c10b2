import type { Knex } from 'knex';
import { countMissingState } from '../../runtime/consumer/observe.js';
import { asContract, type ProjectedEvent } from '../../runtime/consumer/types.js';
import type { EscrowEvent, WalletEvent } from '../../schemas/marketplace/events.js';
import type { PostgresReadModel } from '../runtime/postgres.js';
import { MoneyInvariantError } from './money/errors.js';
import type { EscrowState } from './money/escrow.js';
import { isPayoutEvent } from './money/payouts.js';
import type { MoneyEvent } from './money/postings.js';
import { isEscrowEvent, isWalletEvent, moneyStep } from './money/step.js';
import { loadEscrow, loadPayout, saveEscrow, savePayout, writeEntry } from './money/store.js';
import { createMoneyTables, dropMoneyTables, type MoneyTables, moneyTables } from './money/tables.js';

// The marketplace's money read model (PostgreSQL): a double-entry ledger of every money event (entries, postings,
// balances per account), each contract's escrow with its milestones' money and disputes, and each worker's wallet
// with its credits and payouts. Queries: queries/marketplace/money.ts.
//
// What each event does is decided by pure code (money/step.ts: the escrow and payout folds, the posting rules);
// this file loads what a stream said before, applies the step and stores the result. Idempotent twice over: the
// runtime skips stream versions it has applied (projection_streams), and this model skips an event at or below
// the version its escrow or wallet row records, and keys each ledger entry by the event's stream id and version.

export const MONEY_PROJECTION = 'marketplace.money';
export const MONEY_VERSION = 1;
export const MONEY_TOPICS = ['marketplace.escrow', 'marketplace.wallet'] as const;

export type { MoneyTables };
export { moneyTables };

type Event = ProjectedEvent<EscrowEvent | WalletEvent>;

export function moneyReadModel(version: number): PostgresReadModel {
  const t = moneyTables(version);
  return {
    name: MONEY_PROJECTION,
    version,
    topics: MONEY_TOPICS,
    createTables: (db) => createMoneyTables(db, t),
    dropTables: (db) => dropMoneyTables(db, t),
    async apply(trx, events) {
      const batch = new MoneyBatch(trx, t);
      for (const event of asContract<EscrowEvent | WalletEvent>(events)) await batch.apply(event);
      await batch.flush();
    },
  };
}

/**
 * One batch's application. Escrows are loaded once per batch and written once at its end (a rebuild batch holds
 * many events of one escrow); wallets and payouts are written as they change.
 */
class MoneyBatch {
  private readonly escrows = new Map<string, EscrowState | null>();
  private readonly dirty = new Set<string>();
  private readonly walletVersions = new Map<string, number>();

  constructor(
    private readonly trx: Knex.Transaction,
    private readonly t: MoneyTables,
  ) {}

  async apply(event: Event): Promise<void> {
    const money = { type: event.eventType, data: event.data } as MoneyEvent;
    if (isEscrowEvent(money)) await this.applyEscrow(event, money);
    else if (isWalletEvent(money)) await this.applyWallet(event, money);
    // A type added to these topics after this version was written moves nothing here until the model learns it.
  }

  async flush(): Promise<void> {
    for (const contractId of this.dirty) await saveEscrow(this.trx, this.t, this.escrows.get(contractId)!);
    this.dirty.clear();
  }

  private async applyEscrow(event: Event, money: EscrowEvent): Promise<void> {
    const contractId = money.data.contractId;
    if (!this.escrows.has(contractId)) this.escrows.set(contractId, await loadEscrow(this.trx, this.t, contractId));
    const before = this.escrows.get(contractId) ?? null;
    if (before && before.version >= event.streamVersion) return; // applied already
    if (!before && money.type !== 'EscrowOpened') {
      // The stream began before what this version holds (its storage lost rows): counted, and a rebuild repairs it.
      countMissingState();
      return;
    }
    const step = moneyStep(money, event, { escrow: before });
    this.escrows.set(contractId, step.escrow!);
    this.dirty.add(contractId);
    if (money.type === 'DisputeEvidenceAdded') {
      const d = money.data;
      await this.trx(this.t.evidence)
        .insert({
          contract_id: contractId,
          stream_version: event.streamVersion,
          milestone_id: d.milestoneId,
          added_by: d.addedBy,
          note: d.note,
          added_at: d.addedAt,
        })
        .onConflict(['contract_id', 'stream_version'])
        .ignore();
    }
    if (step.entry) await writeEntry(this.trx, this.t, event, step.entry);
  }

  private async applyWallet(event: Event, money: WalletEvent): Promise<void> {
    const workerId = money.data.workerId;
    if (!(await this.claimWallet(workerId, event, money))) return; // applied already
    if (isPayoutEvent(money)) {
      const before = await loadPayout(this.trx, this.t, workerId, money.data.payoutId);
      const step = moneyStep(money, event, { payout: before });
      await savePayout(this.trx, this.t, step.payout!);
      if (step.entry) await writeEntry(this.trx, this.t, event, step.entry);
      return;
    }
    const step = moneyStep(money, event, {});
    if (money.type === 'WalletCredited') {
      const d = money.data;
      const credited = await this.trx(this.t.credits)
        .insert({
          worker_id: workerId,
          source_id: d.sourceId,
          contract_id: d.contractId,
          milestone_id: d.milestoneId,
          amount_minor: d.amountMinor,
          currency: d.currency,
          credited_at: d.creditedAt,
        })
        .onConflict(['worker_id', 'contract_id', 'source_id'])
        .ignore()
        .returning('source_id');
      if (credited.length === 0)
        throw new MoneyInvariantError(
          'MONEY_DUPLICATE_CREDIT',
          `wallet ${workerId} was credited from ${d.sourceId} of contract ${d.contractId} already`,
          {
            workerId,
            contractId: d.contractId,
            sourceId: d.sourceId,
          },
        );
    }
    if (step.entry) await writeEntry(this.trx, this.t, event, step.entry);
  }

  /**
   * Moves the wallet's row to the event's version, creating it if the stream's first event was not WalletOpened
   * (its details then stay empty until it comes). False when the row is at that version or later: applied already.
   */
  private async claimWallet(workerId: string, event: Event, money: WalletEvent): Promise<boolean> {
    const known = this.walletVersions.get(workerId);
    if (known !== undefined && known >= event.streamVersion) return false;
    const opened =
      money.type === 'WalletOpened'
        ? { account_ref: money.data.accountRef, currency: money.data.currency, opened_at: money.data.openedAt }
        : {};
    const claimed = await this.trx.raw(
      `INSERT INTO ${this.t.wallets} AS w (worker_id, account_ref, currency, opened_at, version, updated_at)
       VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (worker_id) DO UPDATE SET
         account_ref = COALESCE(EXCLUDED.account_ref, w.account_ref),
         currency = COALESCE(EXCLUDED.currency, w.currency),
         opened_at = COALESCE(EXCLUDED.opened_at, w.opened_at),
         version = EXCLUDED.version,
         updated_at = EXCLUDED.updated_at
       WHERE w.version < EXCLUDED.version
       RETURNING version`,
      [
        workerId,
        opened.account_ref ?? null,
        opened.currency ?? null,
        opened.opened_at ?? null,
        event.streamVersion,
        event.recordedAt,
      ],
    );
    if (claimed.rows.length === 0) return false;
    this.walletVersions.set(workerId, event.streamVersion);
    return true;
  }
}
