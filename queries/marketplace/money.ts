import type { Knex } from 'knex';
import { accounts } from '../../projections/marketplace/money/accounts.js';
import type {
  Dispute,
  DisputeStatus,
  EscrowStatus,
  MilestoneMoney,
  MilestoneMoneyState,
} from '../../projections/marketplace/money/escrow.js';
import type { PayoutStatus } from '../../projections/marketplace/money/payouts.js';
import { iso } from '../../projections/marketplace/money/store.js';
import { moneyTables } from '../../projections/marketplace/money/tables.js';
import { KindedError } from '../../runtime/errors.js';

// Read-only queries over the marketplace's money read model (projections/marketplace/money.ts): a worker's wallet,
// a contract's escrow, the ledger and its balances. Access is the gateway's check: these answer for whoever the
// route let through. Every shape is JSON as it is (camelCase, ISO-8601 times, amounts as integer minor units).

export interface PayoutView {
  readonly payoutId: string;
  readonly amountMinor: number;
  readonly currency: string;
  readonly status: PayoutStatus;
  readonly payoutRef: string | null;
  readonly failureReason: string | null;
  readonly requestedAt: string;
  readonly sentAt: string | null;
  readonly paidAt: string | null;
  readonly failedAt: string | null;
}

export type WalletHistoryItem =
  | {
      readonly kind: 'credit';
      readonly at: string;
      /** The release id, or `dispute:<milestoneId>` for a dispute's settlement. */
      readonly sourceId: string;
      readonly contractId: string;
      readonly milestoneId: string;
      readonly amountMinor: number;
      readonly currency: string;
    }
  | ({ readonly kind: 'payout'; readonly at: string } & PayoutView);

export interface WalletView {
  readonly workerId: string;
  /** The connected account at the provider; null until WalletOpened. */
  readonly accountRef: string | null;
  /** The wallet's currency (every amount below is in it); before the wallet opens, that of the worker's escrows. */
  readonly currency: string | null;
  readonly openedAt: string | null;
  /** The wallet account's balance: what the worker can pay out. */
  readonly availableMinor: number;
  /** Held in escrow for the worker's funded contracts, not yet released, refunded or settled; before fees. */
  readonly pendingMinor: number;
  /** Released or settled to the worker, not yet credited to the wallet (normally a moment). */
  readonly inTransitMinor: number;
  /** Reserved by payouts the bank has not received yet. */
  readonly inFlightMinor: number;
  /** Received by the worker's bank. */
  readonly paidOutMinor: number;
  /** The payout under way (requested or sent), if any: one at a time. */
  readonly payoutInFlight: PayoutView | null;
  /** Credits and payouts, newest first (the latest 50). */
  readonly history: readonly WalletHistoryItem[];
}

/** A dispute as the read model keeps it, with its milestone and its evidence notes (oldest first). */
export interface DisputeView extends Dispute {
  readonly milestoneId: string;
  readonly evidence: readonly { readonly addedBy: string; readonly note: string; readonly addedAt: string }[];
}

/** A milestone's money as the escrow view shows it (its dispute is listed with the escrow's disputes). */
export type EscrowMilestoneView = Omit<MilestoneMoney, 'dispute'>;

export interface EscrowView {
  readonly contractId: string;
  readonly hirerId: string;
  readonly workerId: string;
  readonly currency: string;
  readonly amountMinor: number;
  readonly feeBps: number;
  readonly status: EscrowStatus;
  readonly fundingAttempts: number;
  readonly lastDeclineReason: string | null;
  readonly chargeRef: string | null;
  readonly fundBy: string;
  readonly openedAt: string;
  readonly fundedAt: string | null;
  readonly closedAt: string | null;
  /** fundedMinor = heldMinor + releasedMinor + refundedMinor + feesMinor. */
  readonly totals: {
    readonly fundedMinor: number;
    readonly heldMinor: number;
    /** Net amounts that reached the worker (releases and settled disputes). */
    readonly releasedMinor: number;
    /** Back to the hirer (refunds and settled disputes). */
    readonly refundedMinor: number;
    readonly feesMinor: number;
  };
  /** In the contract's order. */
  readonly milestones: readonly EscrowMilestoneView[];
  /** Oldest first. */
  readonly disputes: readonly DisputeView[];
  readonly version: number;
  readonly updatedAt: string;
}

export interface PostingView {
  readonly account: string;
  readonly amountMinor: number;
  readonly currency: string;
}

export interface LedgerEntryView {
  /** `<stream id>@<stream version>` of the event that made it. */
  readonly entryId: string;
  readonly eventId: string;
  readonly eventType: string;
  /** The event's global position: the ledger's order. */
  readonly position: number;
  readonly at: string;
  readonly description: string;
  readonly contractId: string | null;
  readonly milestoneId: string | null;
  readonly workerId: string | null;
  /** Sum to zero. */
  readonly postings: readonly PostingView[];
}

export interface LedgerQuery {
  /** Only entries posting to this account (`wallet:w-1`). */
  readonly account?: string;
  /** Only entries of this contract. */
  readonly contractId?: string;
  /** 1 to 200. */
  readonly limit: number;
  /** Only entries before this position (the previous page's `nextBefore`). */
  readonly before?: number;
}

export interface LedgerPage {
  /** Newest first. */
  readonly entries: readonly LedgerEntryView[];
  /** `before` for the next (older) page; null when this page is the last. */
  readonly nextBefore: number | null;
}

export interface AccountBalance {
  readonly account: string;
  readonly currency: string;
  readonly balanceMinor: number;
  readonly updatedAt: string;
}

export interface TrialBalance {
  /** Every currency's postings sum to zero. */
  readonly balanced: boolean;
  /** The sum of every posting (0 when balanced). */
  readonly totalMinor: number;
  readonly currencies: readonly {
    readonly currency: string;
    readonly totalMinor: number;
    /** The sum of the positive postings: how much money moved. */
    readonly movedMinor: number;
    readonly postings: number;
    readonly entries: number;
  }[];
  /** The balances table agrees with the postings, account by account. */
  readonly balancesMatchPostings: boolean;
  /** Up to 20 accounts where it does not. */
  readonly mismatches: readonly {
    readonly account: string;
    readonly currency: string;
    readonly balanceMinor: number;
    readonly postedMinor: number;
  }[];
}

/** A query argument out of range, before it reaches SQL. */
export class InvalidMoneyQueryError extends KindedError {
  constructor(message: string) {
    super('invalid', 'INVALID_MONEY_QUERY', message);
  }
}

const HISTORY_LIMIT = 50;
const MAX_LEDGER_LIMIT = 200;
const MAX_BALANCES = 1000;

type Row = Record<string, unknown>;
const num = (v: unknown): number => Number(v ?? 0);

const payoutView = (r: Row): PayoutView => ({
  payoutId: r.payout_id as string,
  amountMinor: num(r.amount_minor),
  currency: r.currency as string,
  status: r.status as PayoutStatus,
  payoutRef: r.payout_ref as string | null,
  failureReason: r.failure_reason as string | null,
  requestedAt: iso(r.requested_at)!,
  sentAt: iso(r.sent_at),
  paidAt: iso(r.paid_at),
  failedAt: iso(r.failed_at),
});

/** `LIKE` pattern for names starting with `prefix`, its wildcards taken literally. */
const startsWith = (prefix: string): string => `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

export class MoneyQueries {
  constructor(
    private readonly db: Knex,
    private readonly version: () => Promise<number>,
  ) {}

  private async tables() {
    return moneyTables(await this.version());
  }

  /**
   * The reads of one view from one snapshot: the projector updates an escrow's row and its milestones in one
   * transaction, and separate reads could see the milestones after it and the totals before it.
   */
  private snapshot<T>(read: (db: Knex.Transaction) => Promise<T>): Promise<T> {
    return this.db.transaction(read, { isolationLevel: 'repeatable read', readOnly: true });
  }

  /** The worker's wallet, or null when nothing of theirs is known (no wallet, no escrow, no posting). */
  async wallet(workerId: string): Promise<WalletView | null> {
    return this.snapshot(async (db) => {
      const t = await this.tables();
      const [wallet, latestEscrow] = await Promise.all([
        db(t.wallets).where('worker_id', workerId).first(),
        db(t.escrows).where('worker_id', workerId).orderBy('opened_at', 'desc').first('currency'),
      ]);
      const currency = (wallet?.currency as string | null) ?? (latestEscrow?.currency as string | undefined) ?? null;
      if (!wallet && !latestEscrow) return null;
      const own = [
        accounts.wallet(workerId),
        accounts.inTransit(workerId),
        accounts.payoutsInFlight(workerId),
        accounts.bank(workerId),
      ];
      const [balances, pending, inFlight, credits, payouts] = await Promise.all([
        db(t.balances)
          .whereIn('account', own)
          .where('currency', currency ?? ''),
        db(t.escrows)
          .where({ worker_id: workerId, currency: currency ?? '' })
          .where('pending_for_worker_minor', '>', 0)
          .sum({ n: 'pending_for_worker_minor' })
          .first(),
        db(t.payouts)
          .where('worker_id', workerId)
          .whereIn('status', ['REQUESTED', 'SENT'])
          .orderBy('requested_at', 'desc')
          .first(),
        db(t.credits).where('worker_id', workerId).orderBy('credited_at', 'desc').limit(HISTORY_LIMIT),
        db(t.payouts).where('worker_id', workerId).orderBy('requested_at', 'desc').limit(HISTORY_LIMIT),
      ]);
      const balanceOf = (account: string) => num((balances as Row[]).find((b) => b.account === account)?.balance_minor);
      const history: WalletHistoryItem[] = [
        ...(credits as Row[]).map(
          (c): WalletHistoryItem => ({
            kind: 'credit',
            at: iso(c.credited_at)!,
            sourceId: c.source_id as string,
            contractId: c.contract_id as string,
            milestoneId: c.milestone_id as string,
            amountMinor: num(c.amount_minor),
            currency: c.currency as string,
          }),
        ),
        ...(payouts as Row[]).map((p): WalletHistoryItem => {
          const view = payoutView(p);
          return { kind: 'payout', at: view.requestedAt, ...view };
        }),
      ];
      history.sort((a, b) => (a.at === b.at ? 0 : a.at < b.at ? 1 : -1));
      return {
        workerId,
        accountRef: (wallet?.account_ref as string | null) ?? null,
        currency,
        openedAt: iso(wallet?.opened_at),
        availableMinor: balanceOf(accounts.wallet(workerId)),
        pendingMinor: num((pending as Row | undefined)?.n),
        inTransitMinor: balanceOf(accounts.inTransit(workerId)),
        inFlightMinor: balanceOf(accounts.payoutsInFlight(workerId)),
        paidOutMinor: balanceOf(accounts.bank(workerId)),
        payoutInFlight: inFlight ? payoutView(inFlight) : null,
        history: history.slice(0, HISTORY_LIMIT),
      };
    });
  }

  /** The contract's escrow with its milestones' money and its disputes, or null before EscrowOpened. */
  async escrow(contractId: string): Promise<EscrowView | null> {
    return this.snapshot(async (db) => {
      const t = await this.tables();
      const row = await db(t.escrows).where('contract_id', contractId).first();
      if (!row) return null;
      const [milestones, disputes, evidence] = await Promise.all([
        db(t.milestones).where('contract_id', contractId).orderBy('position'),
        db(t.disputes)
          .where('contract_id', contractId)
          .orderBy([{ column: 'opened_at' }, { column: 'milestone_id' }]),
        db(t.evidence).where('contract_id', contractId).orderBy('stream_version'),
      ]);
      return {
        contractId,
        hirerId: row.hirer_id,
        workerId: row.worker_id,
        currency: row.currency,
        amountMinor: num(row.amount_minor),
        feeBps: row.fee_bps,
        status: row.status,
        fundingAttempts: row.funding_attempts,
        lastDeclineReason: row.last_decline_reason,
        chargeRef: row.charge_ref,
        fundBy: iso(row.fund_by)!,
        openedAt: iso(row.opened_at)!,
        fundedAt: iso(row.funded_at),
        closedAt: iso(row.closed_at),
        totals: {
          fundedMinor: num(row.funded_minor),
          heldMinor: num(row.held_minor),
          releasedMinor: num(row.released_minor),
          refundedMinor: num(row.refunded_minor),
          feesMinor: num(row.fees_minor),
        },
        milestones: (milestones as Row[]).map((m) => ({
          milestoneId: m.milestone_id as string,
          position: m.position as number,
          amountMinor: num(m.amount_minor),
          state: m.state as MilestoneMoneyState,
          releaseId: m.release_id as string | null,
          grossMinor: num(m.gross_minor),
          feeMinor: num(m.fee_minor),
          netMinor: num(m.net_minor),
          refundId: m.refund_id as string | null,
          refundedMinor: num(m.refunded_minor),
          transferRef: m.transfer_ref as string | null,
          refundRef: m.refund_ref as string | null,
          updatedAt: iso(m.updated_at)!,
        })),
        disputes: (disputes as Row[]).map((d) => ({
          milestoneId: d.milestone_id as string,
          status: d.status as DisputeStatus,
          openedBy: d.opened_by as string,
          reason: d.reason as string,
          heldMinor: num(d.held_minor),
          openedAt: iso(d.opened_at)!,
          resolution:
            d.resolved_by == null
              ? null
              : {
                  resolvedBy: d.resolved_by as string,
                  workerMinor: num(d.worker_minor),
                  hirerRefundMinor: num(d.hirer_refund_minor),
                  feeMinor: num(d.fee_minor),
                  note: d.resolution_note as string,
                  resolvedAt: iso(d.resolved_at)!,
                },
          settledAt: iso(d.settled_at),
          evidence: (evidence as Row[])
            .filter((e) => e.milestone_id === d.milestone_id)
            .map((e) => ({ addedBy: e.added_by as string, note: e.note as string, addedAt: iso(e.added_at)! })),
        })),
        version: row.version,
        updatedAt: iso(row.updated_at)!,
      };
    });
  }

  /** Ledger entries with their postings, newest first, by account and/or contract; keyset-paged on position. */
  async ledger(query: LedgerQuery): Promise<LedgerPage> {
    const { account, contractId, limit, before } = query;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LEDGER_LIMIT)
      throw new InvalidMoneyQueryError(`limit must be an integer from 1 to ${MAX_LEDGER_LIMIT}`);
    if (before !== undefined && (!Number.isSafeInteger(before) || before < 1))
      throw new InvalidMoneyQueryError('before must be a positive integer (a previous page’s nextBefore)');
    const t = await this.tables();
    // By account: from the postings' (account, position) index, newest first, one posting per entry (an entry is
    // in one currency and names an account once). Otherwise from the entries, by contract or all of them.
    const q =
      account === undefined
        ? this.db(`${t.entries} as e`).select('e.*').orderBy('e.position', 'desc').limit(limit)
        : this.db(`${t.postings} as p`)
            .join(`${t.entries} as e`, 'e.entry_id', 'p.entry_id')
            .where('p.account', account)
            .select('e.*')
            .orderBy('p.position', 'desc')
            .limit(limit);
    if (before !== undefined) q.where(account === undefined ? 'e.position' : 'p.position', '<', before);
    if (contractId !== undefined) q.where('e.contract_id', contractId);
    const rows = (await q) as Row[];
    const postings = rows.length
      ? ((await this.db(t.postings)
          .whereIn(
            'entry_id',
            rows.map((r) => r.entry_id as string),
          )
          .orderBy([
            { column: 'entry_id' },
            { column: 'amount_minor', order: 'desc' },
            { column: 'account' },
          ])) as Row[])
      : [];
    const entries = rows.map(
      (r): LedgerEntryView => ({
        entryId: r.entry_id as string,
        eventId: r.event_id as string,
        eventType: r.event_type as string,
        position: num(r.position),
        at: iso(r.at)!,
        description: r.description as string,
        contractId: r.contract_id as string | null,
        milestoneId: r.milestone_id as string | null,
        workerId: r.worker_id as string | null,
        postings: postings
          .filter((p) => p.entry_id === r.entry_id)
          .map((p) => ({
            account: p.account as string,
            amountMinor: num(p.amount_minor),
            currency: p.currency as string,
          })),
      }),
    );
    return { entries, nextBefore: entries.length === limit ? entries[entries.length - 1]!.position : null };
  }

  /** Balances per account and currency, by account name; only names starting with `prefix` when given. */
  async balances(prefix?: string): Promise<AccountBalance[]> {
    const t = await this.tables();
    const q = this.db(t.balances)
      .orderBy([{ column: 'account' }, { column: 'currency' }])
      .limit(MAX_BALANCES);
    if (prefix) q.whereRaw(`account LIKE ? ESCAPE '\\'`, [startsWith(prefix)]);
    return ((await q) as Row[]).map((b) => ({
      account: b.account as string,
      currency: b.currency as string,
      balanceMinor: num(b.balance_minor),
      updatedAt: iso(b.updated_at)!,
    }));
  }

  /**
   * The books' check: every posting summed per currency (each must be 0), and the balances table recomputed from
   * the postings. Reads every posting: for operators and tests, not for a page.
   */
  async trialBalance(): Promise<TrialBalance> {
    const t = await this.tables();
    const [totals, mismatches] = await Promise.all([
      this.db.raw(
        `SELECT currency, sum(amount_minor) AS total, sum(GREATEST(amount_minor, 0)) AS moved,
                count(*) AS postings, count(DISTINCT entry_id) AS entries
         FROM ${t.postings} GROUP BY currency ORDER BY currency`,
      ),
      this.db.raw(
        `SELECT coalesce(b.account, p.account) AS account, coalesce(b.currency, p.currency) AS currency,
                coalesce(b.balance_minor, 0) AS balance, coalesce(p.posted, 0) AS posted
         FROM ${t.balances} b
         FULL JOIN (SELECT account, currency, sum(amount_minor) AS posted FROM ${t.postings} GROUP BY account, currency) p
           ON p.account = b.account AND p.currency = b.currency
         WHERE coalesce(b.balance_minor, 0) <> coalesce(p.posted, 0)
         ORDER BY 1, 2 LIMIT 20`,
      ),
    ]);
    const currencies = (totals.rows as Row[]).map((r) => ({
      currency: r.currency as string,
      totalMinor: num(r.total),
      movedMinor: num(r.moved),
      postings: num(r.postings),
      entries: num(r.entries),
    }));
    return {
      balanced: currencies.every((c) => c.totalMinor === 0),
      totalMinor: currencies.reduce((s, c) => s + c.totalMinor, 0),
      currencies,
      balancesMatchPostings: mismatches.rows.length === 0,
      mismatches: (mismatches.rows as Row[]).map((m) => ({
        account: m.account as string,
        currency: m.currency as string,
        balanceMinor: num(m.balance),
        postedMinor: num(m.posted),
      })),
    };
  }
}
