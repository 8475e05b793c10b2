import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { accountKindOf } from '../../../projections/marketplace/money/accounts.js';
import { MoneyInvariantError } from '../../../projections/marketplace/money/errors.js';
import { type EscrowState, escrowTotals, evolveEscrow } from '../../../projections/marketplace/money/escrow.js';
import { isPayoutEvent, type Payout } from '../../../projections/marketplace/money/payouts.js';
import { assertBalanced, type EntryDraft, postingsOf } from '../../../projections/marketplace/money/postings.js';
import { isEscrowEvent, moneyStep } from '../../../projections/marketplace/money/step.js';
import type { EscrowEvent } from '../../../schemas/marketplace/events.js';
import { choiceArb, interleave, type LoggedEvent, MoneyWorld } from './money-world.js';

// The money read model's pure core: the posting rules, the escrow and payout folds, and the books they make over
// random logs the write side could append (money-world.ts), redelivered and interleaved as the projector sees them.

const AT = '2026-06-01T12:00:00.000Z';

/** The read model's fold in memory: the same guards (stream versions on the escrow and the wallet) and steps. */
class Books {
  readonly escrows = new Map<string, EscrowState>();
  readonly payouts = new Map<string, Payout>();
  readonly walletVersions = new Map<string, number>();
  readonly entries = new Map<string, EntryDraft>();
  readonly balances = new Map<string, number>();

  static of(events: readonly LoggedEvent[], after?: (books: Books, event: LoggedEvent) => void): Books {
    const books = new Books();
    for (const e of events) {
      books.apply(e);
      after?.(books, e);
    }
    return books;
  }

  apply({ event, streamId, streamVersion }: LoggedEvent): void {
    const stamp = { streamVersion, recordedAt: AT };
    let entry: EntryDraft | null;
    if (isEscrowEvent(event)) {
      const before = this.escrows.get(event.data.contractId) ?? null;
      if (before && before.version >= streamVersion) return;
      const step = moneyStep(event, stamp, { escrow: before });
      this.escrows.set(event.data.contractId, step.escrow!);
      entry = step.entry;
    } else {
      if ((this.walletVersions.get(event.data.workerId) ?? 0) >= streamVersion) return;
      this.walletVersions.set(event.data.workerId, streamVersion);
      const payout = isPayoutEvent(event) ? (this.payouts.get(event.data.payoutId) ?? null) : undefined;
      const step = moneyStep(event, stamp, payout === undefined ? {} : { payout });
      if (step.payout) this.payouts.set(step.payout.payoutId, step.payout);
      entry = step.entry;
    }
    if (!entry) return;
    const id = `${streamId}@${streamVersion}`;
    if (this.entries.has(id)) throw new Error(`${id} posted twice`);
    this.entries.set(id, entry);
    for (const p of entry.postings) {
      const key = `${p.account}|${p.currency}`;
      this.balances.set(key, (this.balances.get(key) ?? 0) + p.amountMinor);
    }
  }

  balance(account: string, currency: string): number {
    return this.balances.get(`${account}|${currency}`) ?? 0;
  }

  totalsByCurrency(): Map<string, number> {
    const sums = new Map<string, number>();
    for (const [key, amount] of this.balances) {
      const currency = key.slice(key.lastIndexOf('|') + 1);
      sums.set(currency, (sums.get(currency) ?? 0) + amount);
    }
    return sums;
  }
}

/** What is wrong with the books, in words (empty when they are sound). Plain checks: it runs after every event. */
function violations(books: Books, options: { inTransitMayBeNegative?: boolean } = {}): string[] {
  const found: string[] = [];
  for (const [currency, total] of books.totalsByCurrency())
    if (total !== 0) found.push(`ledger sums to ${total} ${currency}`);
  for (const [key, amount] of books.balances) {
    const kind = accountKindOf(key.slice(0, key.lastIndexOf('|')));
    if (kind === null) found.push(`unknown account ${key}`);
    const mayBeNegative = kind === 'hirer' || (kind === 'in-transit' && options.inTransitMayBeNegative);
    if (!mayBeNegative && amount < 0) found.push(`${key} is ${amount}`);
  }
  for (const escrow of books.escrows.values()) {
    const t = escrowTotals(escrow);
    const out = t.releasedMinor + t.refundedMinor + t.feesMinor;
    if (out > t.fundedMinor) found.push(`${escrow.contractId}: ${out} left, ${t.fundedMinor} funded`);
    if (t.heldMinor + out !== t.fundedMinor) found.push(`${escrow.contractId}: held + out ≠ funded`);
    // The view and the ledger agree on what the escrow holds.
    const ledger = books.balance(`escrow:${escrow.contractId}`, escrow.currency);
    if (ledger !== t.heldMinor) found.push(`${escrow.contractId}: ledger ${ledger}, view ${t.heldMinor}`);
  }
  return found;
}

const expectSound = (books: Books, options?: { inTransitMayBeNegative?: boolean }) => {
  const found = violations(books, options);
  if (found.length > 0) expect(found).toEqual([]);
};

const opened = (overrides: Partial<Extract<EscrowEvent, { type: 'EscrowOpened' }>['data']> = {}): EscrowEvent => ({
  type: 'EscrowOpened',
  data: {
    contractId: 'c1',
    hirerId: 'h1',
    workerId: 'w1',
    amountMinor: 10_000,
    currency: 'EUR',
    feeBps: 1000,
    milestones: [
      { milestoneId: 'm1', amountMinor: 4_000 },
      { milestoneId: 'm2', amountMinor: 6_000 },
    ],
    fundBy: AT,
    openedAt: AT,
    ...overrides,
  },
});
const funded: EscrowEvent = {
  type: 'EscrowFunded',
  data: { contractId: 'c1', attempt: 1, chargeRef: 'pi_1', amountMinor: 10_000, currency: 'EUR', fundedAt: AT },
};
const released = (milestoneId: string, gross: number, fee: number, net: number): EscrowEvent => ({
  type: 'MilestoneReleased',
  data: {
    contractId: 'c1',
    milestoneId,
    releaseId: `rel-${milestoneId}`,
    workerId: 'w1',
    grossMinor: gross,
    feeMinor: fee,
    netMinor: net,
    currency: 'EUR',
    transferRef: 'tr_1',
    releasedAt: AT,
  },
});
const disputed = (milestoneId: string, heldMinor: number): EscrowEvent => ({
  type: 'DisputeOpened',
  data: { contractId: 'c1', milestoneId, openedBy: 'h1', reason: 'unfinished', heldMinor, openedAt: AT },
});

/** The escrow after these events, folded as the read model folds it. */
const escrowAfter = (...events: EscrowEvent[]): EscrowState =>
  events.reduce<EscrowState | null>((s, e, i) => evolveEscrow(s, e, { streamVersion: i + 1, recordedAt: AT }), null)!;

const codeOf = (f: () => unknown): string | undefined => {
  try {
    f();
  } catch (error) {
    if (error instanceof MoneyInvariantError) return error.code;
    throw error;
  }
  return undefined;
};

const postings = (entry: EntryDraft | null) => entry?.postings.map((p) => [p.account, p.amountMinor, p.currency]);

describe('money postings: the rules', () => {
  it('funding moves the contract amount from the hirer into the escrow', () => {
    expect(postings(postingsOf(funded, { hirerId: 'h1' }))).toEqual([
      ['escrow:c1', 10_000, 'EUR'],
      ['hirer:h1', -10_000, 'EUR'],
    ]);
  });

  it('a release takes the gross out of the escrow: the net towards the worker, the fee to the platform', () => {
    expect(postings(postingsOf(released('m1', 4_000, 400, 3_600)))).toEqual([
      ['escrow:c1', -4_000, 'EUR'],
      ['in-transit:w1', 3_600, 'EUR'],
      ['fees', 400, 'EUR'],
    ]);
  });

  it('a dispute settled 70/30 with a 10% fee on the worker part: 6,300 to the worker, 700 fee, 3,000 back', () => {
    const entry = postingsOf(
      {
        type: 'DisputeSettled',
        data: {
          contractId: 'c1',
          milestoneId: 'm2',
          workerId: 'w1',
          workerNetMinor: 6_300,
          feeMinor: 700,
          hirerRefundMinor: 3_000,
          currency: 'EUR',
          transferRef: 'tr_2',
          refundRef: 're_2',
          settledAt: AT,
        },
      },
      { hirerId: 'h1' },
    );
    expect(postings(entry)).toEqual([
      ['escrow:c1', -10_000, 'EUR'],
      ['in-transit:w1', 6_300, 'EUR'],
      ['fees', 700, 'EUR'],
      ['hirer:h1', 3_000, 'EUR'],
    ]);
  });

  it('leaves out the zero postings of a settlement wholly for the hirer', () => {
    const entry = postingsOf(
      {
        type: 'DisputeSettled',
        data: {
          contractId: 'c1',
          milestoneId: 'm2',
          workerId: 'w1',
          workerNetMinor: 0,
          feeMinor: 0,
          hirerRefundMinor: 6_000,
          currency: 'EUR',
          transferRef: null,
          refundRef: 're_2',
          settledAt: AT,
        },
      },
      { hirerId: 'h1' },
    );
    expect(postings(entry)).toEqual([
      ['escrow:c1', -6_000, 'EUR'],
      ['hirer:h1', 6_000, 'EUR'],
    ]);
  });

  it('a credit moves the money from in-transit into the wallet; payouts move it on to the bank or back', () => {
    const credit = postingsOf({
      type: 'WalletCredited',
      data: {
        workerId: 'w1',
        contractId: 'c1',
        milestoneId: 'm1',
        sourceId: 'rel-m1',
        amountMinor: 3_600,
        currency: 'EUR',
        creditedAt: AT,
      },
    });
    expect(postings(credit)).toEqual([
      ['in-transit:w1', -3_600, 'EUR'],
      ['wallet:w1', 3_600, 'EUR'],
    ]);
    const requested = postingsOf({
      type: 'PayoutRequested',
      data: { workerId: 'w1', payoutId: 'p1', amountMinor: 3_000, currency: 'EUR', requestedAt: AT },
    });
    expect(postings(requested)).toEqual([
      ['wallet:w1', -3_000, 'EUR'],
      ['payouts-in-flight:w1', 3_000, 'EUR'],
    ]);
    const paid = postingsOf(
      {
        type: 'PayoutPaid',
        data: { workerId: 'w1', payoutId: 'p1', payoutRef: 'po_1', amountMinor: 3_000, paidAt: AT },
      },
      { payout: { currency: 'EUR', status: 'SENT' } },
    );
    expect(postings(paid)).toEqual([
      ['payouts-in-flight:w1', -3_000, 'EUR'],
      ['bank:w1', 3_000, 'EUR'],
    ]);
    const failed = { workerId: 'w1', payoutId: 'p1', amountMinor: 3_000, reason: 'closed', failedAt: AT };
    expect(
      postings(postingsOf({ type: 'PayoutFailed', data: failed }, { payout: { currency: 'EUR', status: 'SENT' } })),
    ).toEqual([
      ['payouts-in-flight:w1', -3_000, 'EUR'],
      ['wallet:w1', 3_000, 'EUR'],
    ]);
    // The bank returned a payout it had received: the money comes back out of the bank, not out of in-flight.
    expect(
      postings(postingsOf({ type: 'PayoutFailed', data: failed }, { payout: { currency: 'EUR', status: 'PAID' } })),
    ).toEqual([
      ['bank:w1', -3_000, 'EUR'],
      ['wallet:w1', 3_000, 'EUR'],
    ]);
  });

  it('posts nothing for intents, notes and statuses', () => {
    expect(postingsOf(opened())).toBeNull();
    expect(postingsOf(disputed('m1', 4_000))).toBeNull();
    expect(
      postingsOf({
        type: 'PayoutSent',
        data: { workerId: 'w1', payoutId: 'p1', payoutRef: 'po_1', amountMinor: 1, sentAt: AT },
      }),
    ).toBeNull();
  });

  it('refuses an entry that does not sum to zero (a release whose fee and net miss the gross)', () => {
    expect(codeOf(() => postingsOf(released('m1', 4_000, 400, 3_500)))).toBe('LEDGER_UNBALANCED');
    expect(codeOf(() => assertBalanced({ postings: [{ account: 'fees', amountMinor: 0.5, currency: 'EUR' }] }))).toBe(
      'LEDGER_UNBALANCED',
    );
  });

  it('refuses to post without the context the event lacks (the hirer of a funding, the payout of a payment)', () => {
    expect(codeOf(() => postingsOf(funded))).toBe('MONEY_UNKNOWN_REFERENCE');
    expect(
      codeOf(() =>
        postingsOf({
          type: 'PayoutPaid',
          data: { workerId: 'w1', payoutId: 'p1', payoutRef: 'po_1', amountMinor: 1, paidAt: AT },
        }),
      ),
    ).toBe('MONEY_UNKNOWN_REFERENCE');
  });
});

describe('money escrow fold', () => {
  it('holds every milestone once funded and closes when nothing is held any more', () => {
    const s = escrowAfter(opened(), funded);
    expect(s.status).toBe('FUNDED');
    expect(s.milestones.map((m) => m.state)).toEqual(['HELD', 'HELD']);
    const closed = escrowAfter(opened(), funded, released('m1', 4_000, 400, 3_600), released('m2', 6_000, 600, 5_400));
    expect(closed.status).toBe('CLOSED');
    expect(escrowTotals(closed)).toMatchObject({
      fundedMinor: 10_000,
      heldMinor: 0,
      releasedMinor: 9_000,
      feesMinor: 1_000,
    });
  });

  it('refuses a second release of a milestone', () => {
    expect(
      codeOf(() => escrowAfter(opened(), funded, released('m1', 4_000, 400, 3_600), released('m1', 4_000, 400, 3_600))),
    ).toBe('MONEY_STATE_INVALID');
  });

  it('refuses a release of more or less than the milestone holds', () => {
    expect(codeOf(() => escrowAfter(opened(), funded, released('m1', 5_000, 500, 4_500)))).toBe('MONEY_AMOUNT_INVALID');
  });

  it('refuses to release, refund or dispute a milestone before the escrow is funded', () => {
    expect(codeOf(() => escrowAfter(opened(), released('m1', 4_000, 400, 3_600)))).toBe('MONEY_STATE_INVALID');
    expect(codeOf(() => escrowAfter(opened(), disputed('m1', 4_000)))).toBe('MONEY_STATE_INVALID');
  });

  it('refuses to refund a disputed milestone: its money is frozen', () => {
    const refunding: EscrowEvent = {
      type: 'EscrowRefunding',
      data: { contractId: 'c1', refundId: 'r1', milestoneIds: ['m1'], amountMinor: 4_000, reason: 'x', startedAt: AT },
    };
    expect(codeOf(() => escrowAfter(opened(), funded, disputed('m1', 4_000), refunding))).toBe('MONEY_STATE_INVALID');
  });

  it('refuses a dispute split that does not add up to the held amount', () => {
    const resolved: EscrowEvent = {
      type: 'DisputeResolved',
      data: {
        contractId: 'c1',
        milestoneId: 'm1',
        resolvedBy: 'admin',
        workerMinor: 3_000,
        hirerRefundMinor: 900,
        feeMinor: 300,
        note: '',
        resolvedAt: AT,
      },
    };
    expect(codeOf(() => escrowAfter(opened(), funded, disputed('m1', 4_000), resolved))).toBe('MONEY_AMOUNT_INVALID');
  });

  it('refuses funding of another amount or currency than the escrow’s', () => {
    expect(
      codeOf(() => escrowAfter(opened(), { ...funded, data: { ...funded.data, amountMinor: 9_999 } } as EscrowEvent)),
    ).toBe('MONEY_AMOUNT_INVALID');
    expect(
      codeOf(() => escrowAfter(opened(), { ...funded, data: { ...funded.data, currency: 'USD' } } as EscrowEvent)),
    ).toBe('MONEY_CURRENCY_MISMATCH');
  });

  it('refuses milestones that do not sum to the escrow amount', () => {
    expect(codeOf(() => escrowAfter(opened({ amountMinor: 10_001 })))).toBe('MONEY_AMOUNT_INVALID');
  });
});

describe('money books — properties over random logs', { timeout: 60_000 }, () => {
  const choices = fc.array(choiceArb, { minLength: 1, maxLength: 150, size: 'max' });

  it('every entry balances, the ledger sums to zero and no account that holds money goes below zero, after every event delivered', () => {
    fc.assert(
      fc.property(choices, (cs) => {
        const world = MoneyWorld.play(cs);
        Books.of(world.delivered, (books) => expectSound(books));
      }),
      { numRuns: 300 },
    );
  });

  it('a redelivered event posts nothing twice: the books of the delivered events are those of the log', () => {
    fc.assert(
      fc.property(choices, (cs) => {
        const world = MoneyWorld.play(cs);
        const delivered = Books.of(world.delivered);
        const log = Books.of(world.log);
        expect(delivered.balances).toEqual(log.balances);
        const moneyEvents = world.log.filter(
          (e) =>
            ['EscrowFunded', 'MilestoneReleased', 'DisputeSettled', 'EscrowRefunded', 'WalletCredited'].includes(
              e.event.type,
            ) || ['PayoutRequested', 'PayoutPaid', 'PayoutFailed'].includes(e.event.type),
        );
        expect(delivered.entries.size).toBe(moneyEvents.length);
      }),
      { numRuns: 200 },
    );
  });

  it('each wallet shows what the write side holds as available, and in-transit is only what awaits crediting', () => {
    fc.assert(
      fc.property(choices, (cs) => {
        const world = MoneyWorld.play(cs);
        const books = Books.of(world.delivered);
        for (const workerId of world.workerIds)
          for (const currency of ['EUR', 'USD'])
            if (books.balance(`wallet:${workerId}`, currency) !== 0)
              expect(books.balance(`wallet:${workerId}`, currency)).toBe(world.availableOf(workerId));
        // In log order a credit follows its release: in-transit holds only what awaits crediting.
        for (const [key, amount] of books.balances)
          if (key.startsWith('in-transit:')) expect(amount, key).toBeGreaterThanOrEqual(0);
      }),
      { numRuns: 200 },
    );
  });

  it('streams read in any interleaving (each in its order, as partitions are) give the same books, never a negative wallet', () => {
    fc.assert(
      fc.property(choices, fc.array(fc.nat(), { maxLength: 60 }), (cs, picks) => {
        const world = MoneyWorld.play(cs);
        const reordered = interleave(world.log, picks);
        // A release may be read after its credit (another topic): in-transit may dip below zero, nothing else.
        const books = Books.of(reordered, (b) => expectSound(b, { inTransitMayBeNegative: true }));
        expect(books.balances).toEqual(Books.of(world.log).balances);
      }),
      { numRuns: 200 },
    );
  });
});
