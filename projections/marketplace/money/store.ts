import type { Knex } from 'knex';
import type { EventEnvelope } from '../../../runtime/consumer/types.js';
import { type Dispute, type EscrowState, escrowTotals, type MilestoneMoney } from './escrow.js';
import type { Payout } from './payouts.js';
import { assertBalanced, type EntryDraft } from './postings.js';
import type { MoneyTables } from './tables.js';

// The money read model's rows as the pure folds' values and back (escrow.ts, payouts.ts), and the ledger's writes.

type Row = Record<string, unknown>;
type Db = Knex | Knex.Transaction;

export const iso = (v: unknown): string | null => (v == null ? null : v instanceof Date ? v.toISOString() : String(v));
const num = (v: unknown): number => Number(v);
const numOrNull = (v: unknown): number | null => (v == null ? null : Number(v));

export async function loadEscrow(db: Db, t: MoneyTables, contractId: string): Promise<EscrowState | null> {
  const row = await db(t.escrows).where('contract_id', contractId).first();
  if (!row) return null;
  const [milestones, disputes] = await Promise.all([
    db(t.milestones).where('contract_id', contractId).orderBy('position'),
    db(t.disputes).where('contract_id', contractId),
  ]);
  const disputeOf = new Map((disputes as Row[]).map((d) => [d.milestone_id as string, disputeFromRow(d)]));
  return escrowFromRows(row, milestones, disputeOf);
}

export function escrowFromRows(
  row: Row,
  milestones: readonly Row[],
  disputes: ReadonlyMap<string, Dispute>,
): EscrowState {
  return {
    contractId: row.contract_id as string,
    hirerId: row.hirer_id as string,
    workerId: row.worker_id as string,
    currency: row.currency as string,
    amountMinor: num(row.amount_minor),
    feeBps: row.fee_bps as number,
    status: row.status as EscrowState['status'],
    fundingAttempts: row.funding_attempts as number,
    lastDeclineReason: row.last_decline_reason as string | null,
    chargeRef: row.charge_ref as string | null,
    fundBy: iso(row.fund_by)!,
    openedAt: iso(row.opened_at)!,
    fundedAt: iso(row.funded_at),
    closedAt: iso(row.closed_at),
    milestones: milestones.map(
      (m): MilestoneMoney => ({
        milestoneId: m.milestone_id as string,
        position: m.position as number,
        amountMinor: num(m.amount_minor),
        state: m.state as MilestoneMoney['state'],
        releaseId: m.release_id as string | null,
        grossMinor: num(m.gross_minor),
        feeMinor: num(m.fee_minor),
        netMinor: num(m.net_minor),
        refundId: m.refund_id as string | null,
        refundedMinor: num(m.refunded_minor),
        transferRef: m.transfer_ref as string | null,
        refundRef: m.refund_ref as string | null,
        dispute: disputes.get(m.milestone_id as string) ?? null,
        updatedAt: iso(m.updated_at)!,
      }),
    ),
    version: row.version as number,
    updatedAt: iso(row.updated_at)!,
  };
}

export function disputeFromRow(d: Row): Dispute {
  return {
    status: d.status as Dispute['status'],
    openedBy: d.opened_by as string,
    reason: d.reason as string,
    heldMinor: num(d.held_minor),
    openedAt: iso(d.opened_at)!,
    resolution:
      d.resolved_by == null
        ? null
        : {
            resolvedBy: d.resolved_by as string,
            workerMinor: numOrNull(d.worker_minor)!,
            hirerRefundMinor: numOrNull(d.hirer_refund_minor)!,
            feeMinor: numOrNull(d.fee_minor)!,
            note: d.resolution_note as string,
            resolvedAt: iso(d.resolved_at)!,
          },
    settledAt: iso(d.settled_at),
  };
}

/** Writes the whole escrow (its row with the totals, its milestones, its disputes): at most 20 milestones. */
export async function saveEscrow(db: Db, t: MoneyTables, s: EscrowState): Promise<void> {
  const totals = escrowTotals(s);
  await db(t.escrows)
    .insert({
      contract_id: s.contractId,
      hirer_id: s.hirerId,
      worker_id: s.workerId,
      currency: s.currency,
      amount_minor: s.amountMinor,
      fee_bps: s.feeBps,
      status: s.status,
      funding_attempts: s.fundingAttempts,
      last_decline_reason: s.lastDeclineReason,
      charge_ref: s.chargeRef,
      fund_by: s.fundBy,
      opened_at: s.openedAt,
      funded_at: s.fundedAt,
      closed_at: s.closedAt,
      funded_minor: totals.fundedMinor,
      held_minor: totals.heldMinor,
      released_minor: totals.releasedMinor,
      refunded_minor: totals.refundedMinor,
      fees_minor: totals.feesMinor,
      pending_for_worker_minor: totals.pendingForWorkerMinor,
      version: s.version,
      updated_at: s.updatedAt,
    })
    .onConflict('contract_id')
    .merge();
  if (s.milestones.length > 0) {
    await db(t.milestones)
      .insert(
        s.milestones.map((m) => ({
          contract_id: s.contractId,
          milestone_id: m.milestoneId,
          position: m.position,
          amount_minor: m.amountMinor,
          state: m.state,
          release_id: m.releaseId,
          gross_minor: m.grossMinor,
          fee_minor: m.feeMinor,
          net_minor: m.netMinor,
          refund_id: m.refundId,
          refunded_minor: m.refundedMinor,
          transfer_ref: m.transferRef,
          refund_ref: m.refundRef,
          updated_at: m.updatedAt,
        })),
      )
      .onConflict(['contract_id', 'milestone_id'])
      .merge();
  }
  const disputed = s.milestones.filter((m) => m.dispute !== null);
  if (disputed.length > 0) {
    await db(t.disputes)
      .insert(
        disputed.map(({ milestoneId, dispute: d }) => ({
          contract_id: s.contractId,
          milestone_id: milestoneId,
          status: d!.status,
          opened_by: d!.openedBy,
          reason: d!.reason,
          held_minor: d!.heldMinor,
          opened_at: d!.openedAt,
          resolved_by: d!.resolution?.resolvedBy ?? null,
          worker_minor: d!.resolution?.workerMinor ?? null,
          hirer_refund_minor: d!.resolution?.hirerRefundMinor ?? null,
          fee_minor: d!.resolution?.feeMinor ?? null,
          resolution_note: d!.resolution?.note ?? null,
          resolved_at: d!.resolution?.resolvedAt ?? null,
          settled_at: d!.settledAt,
        })),
      )
      .onConflict(['contract_id', 'milestone_id'])
      .merge();
  }
}

export async function loadPayout(db: Db, t: MoneyTables, workerId: string, payoutId: string): Promise<Payout | null> {
  const row = await db(t.payouts).where({ worker_id: workerId, payout_id: payoutId }).first();
  return row ? payoutFromRow(row) : null;
}

export function payoutFromRow(r: Row): Payout {
  return {
    payoutId: r.payout_id as string,
    workerId: r.worker_id as string,
    amountMinor: num(r.amount_minor),
    currency: r.currency as string,
    status: r.status as Payout['status'],
    payoutRef: r.payout_ref as string | null,
    failureReason: r.failure_reason as string | null,
    requestedAt: iso(r.requested_at)!,
    sentAt: iso(r.sent_at),
    paidAt: iso(r.paid_at),
    failedAt: iso(r.failed_at),
  };
}

export async function savePayout(db: Db, t: MoneyTables, p: Payout): Promise<void> {
  await db(t.payouts)
    .insert({
      payout_id: p.payoutId,
      worker_id: p.workerId,
      amount_minor: p.amountMinor,
      currency: p.currency,
      status: p.status,
      payout_ref: p.payoutRef,
      failure_reason: p.failureReason,
      requested_at: p.requestedAt,
      sent_at: p.sentAt,
      paid_at: p.paidAt,
      failed_at: p.failedAt,
    })
    .onConflict(['worker_id', 'payout_id'])
    .merge();
}

/** The ledger entry of an event: its stream id and version, so each event posts once whatever delivers it. */
export const entryIdOf = (event: Pick<EventEnvelope, 'streamId' | 'streamVersion'>): string =>
  `${event.streamId}@${event.streamVersion}`;

/**
 * Records the entry, its postings and the balances they change; throws (LEDGER_UNBALANCED) for an entry that does
 * not sum to zero. An entry already there (same event) posts nothing:
 * the runtime's stream versions skip redelivered events before this, so this is the ledger's own guard.
 * Returns whether the entry was new.
 */
export async function writeEntry(
  db: Db,
  t: MoneyTables,
  event: Pick<EventEnvelope, 'eventId' | 'streamId' | 'streamVersion' | 'globalPosition' | 'recordedAt'> & {
    readonly eventType: string;
  },
  entry: EntryDraft,
): Promise<boolean> {
  // Checked again where it is written, whoever built the entry: the ledger never holds an entry that does not balance.
  assertBalanced(entry, event.eventType);
  const entryId = entryIdOf(event);
  const inserted = await db.raw(
    `INSERT INTO ${t.entries}
       (entry_id, event_id, event_type, position, at, description, contract_id, milestone_id, worker_id)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT DO NOTHING
     RETURNING entry_id`,
    [
      entryId,
      event.eventId,
      event.eventType,
      event.globalPosition,
      event.recordedAt,
      entry.description,
      entry.contractId,
      entry.milestoneId,
      entry.workerId,
    ],
  );
  if (inserted.rows.length === 0) return false;
  if (entry.postings.length === 0) return true;
  await db(t.postings).insert(
    entry.postings.map((p) => ({
      entry_id: entryId,
      account: p.account,
      currency: p.currency,
      amount_minor: p.amountMinor,
      position: event.globalPosition,
    })),
  );
  await db.raw(
    `INSERT INTO ${t.balances} AS b (account, currency, balance_minor, updated_at)
     SELECT account, currency, amount, ?::timestamptz FROM unnest(?::text[], ?::text[], ?::bigint[]) AS p(account, currency, amount)
     ON CONFLICT (account, currency)
     DO UPDATE SET balance_minor = b.balance_minor + EXCLUDED.balance_minor, updated_at = EXCLUDED.updated_at`,
    [
      event.recordedAt,
      entry.postings.map((p) => p.account),
      entry.postings.map((p) => p.currency),
      entry.postings.map((p) => p.amountMinor),
    ],
  );
  return true;
}
