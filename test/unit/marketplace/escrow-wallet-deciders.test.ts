import { describe, expect, it } from 'vitest';
import { DomainError } from '../../../commands/decider.js';
import { type Escrow, type EscrowCommand, escrowDecider } from '../../../commands/marketplace/escrow.js';
import {
  MIN_PAYOUT_MINOR,
  type Wallet,
  type WalletCommand,
  walletDecider,
} from '../../../commands/marketplace/wallet.js';

// The escrow's and the wallet's rules, one by one (the money property test drives them at random).

const now = new Date('2030-01-01T00:00:00Z');
const C = 'c-1';

function run<S, C2, E extends { type: string }>(
  decider: { decide: (c: C2, s: S, ctx: { now: Date }) => E[]; evolve: (s: S, e: E) => S; initialState: () => S },
  commands: C2[],
  at = now,
): { state: S; events: E[] } {
  let state = decider.initialState();
  const events: E[] = [];
  for (const c of commands) {
    for (const e of decider.decide(c, state, { now: at })) {
      events.push(e);
      state = decider.evolve(state, e);
    }
  }
  return { state, events };
}

const refusal = (fn: () => unknown): { code: string; kind: string } => {
  try {
    fn();
  } catch (error) {
    if (error instanceof DomainError) return { code: error.code, kind: error.kind };
    throw error;
  }
  throw new Error('expected a refusal');
};

const open: EscrowCommand = {
  type: 'OpenEscrow',
  data: {
    contractId: C,
    hirerId: 'h',
    workerId: 'w',
    amountMinor: 10_000,
    currency: 'EUR',
    feeBps: 1000,
    milestones: [
      { milestoneId: 'm1', amountMinor: 6_000 },
      { milestoneId: 'm2', amountMinor: 4_000 },
    ],
    fundBy: '2030-01-04T00:00:00.000Z',
  },
};
const funded: EscrowCommand[] = [
  open,
  { type: 'RequestFunding', data: { contractId: C, paymentMethod: 'pm_card_visa', by: 'h' } },
  { type: 'RecordFunded', data: { contractId: C, attempt: 1, chargeRef: 'ch_1', amountMinor: 10_000 } },
];
const escrow = (commands: EscrowCommand[]) =>
  run<Escrow, EscrowCommand, ReturnType<typeof escrowDecider.decide>[number]>(escrowDecider, commands);
const decideEscrow = (commands: EscrowCommand[], next: EscrowCommand, at = now) =>
  escrowDecider.decide(next, escrow(commands).state, { now: at });

describe('Escrow decider', () => {
  it('takes funding from the hirer only, one charge at a time, until the deadline', () => {
    expect(
      refusal(() =>
        decideEscrow([open], { type: 'RequestFunding', data: { contractId: C, paymentMethod: 'pm_x', by: 'w' } }),
      ),
    ).toEqual({ code: 'CONTRACT_NOT_FOUND', kind: 'not_found' });
    expect(refusal(() => decideEscrow(funded.slice(0, 2), funded[1]!)).code).toBe('FUNDING_IN_PROGRESS');
    expect(refusal(() => decideEscrow(funded, funded[1]!)).code).toBe('ESCROW_FUNDED');
    const late = new Date('2030-01-05T00:00:00Z');
    expect(refusal(() => decideEscrow([open], funded[1]!, late)).code).toBe('FUNDING_DEADLINE_PASSED');
    // A declined attempt lets the hirer try again.
    const declined = [
      ...funded.slice(0, 2),
      { type: 'RecordFundingDeclined', data: { contractId: C, attempt: 1, reason: 'card_declined' } } as EscrowCommand,
    ];
    expect(decideEscrow(declined, funded[1]!).map((e) => e.type)).toEqual(['EscrowFundingRequested']);
  });

  it('refuses a captured amount that is not the contract amount', () => {
    const wrong: EscrowCommand = {
      type: 'RecordFunded',
      data: { contractId: C, attempt: 1, chargeRef: 'ch', amountMinor: 9_999 },
    };
    expect(refusal(() => decideEscrow(funded.slice(0, 2), wrong)).code).toBe('FUNDED_AMOUNT_MISMATCH');
  });

  it('releases a held milestone once, less the fee rounded down, and never a disputed one', () => {
    const start: EscrowCommand = { type: 'StartRelease', data: { contractId: C, milestoneId: 'm1', releaseId: 'r1' } };
    const [releasing] = decideEscrow(funded, start);
    expect(releasing).toMatchObject({
      type: 'MilestoneReleasing',
      data: { grossMinor: 6_000, feeMinor: 600, netMinor: 5_400 },
    });
    expect(decideEscrow([...funded, start], start)).toEqual([]);
    const disputed: EscrowCommand = {
      type: 'OpenDispute',
      data: { contractId: C, milestoneId: 'm1', by: 'w', reason: 'late' },
    };
    expect(refusal(() => decideEscrow([...funded, disputed], start)).code).toBe('MILESTONE_FUNDS_NOT_HELD');
    // Nor is a milestone being released disputed or refunded.
    expect(refusal(() => decideEscrow([...funded, start], disputed)).code).toBe('MILESTONE_FUNDS_NOT_HELD');
    const refund: EscrowCommand = {
      type: 'StartRefund',
      data: { contractId: C, refundId: 'f1', milestoneIds: ['m1', 'm2'], reason: 'x' },
    };
    expect(decideEscrow([...funded, start], refund)).toMatchObject([
      { data: { milestoneIds: ['m2'], amountMinor: 4_000 } },
    ]);
  });

  it('resolves a dispute only with a split that adds up to the held amount, by whole non-negative amounts', () => {
    const disputed: EscrowCommand[] = [
      ...funded,
      { type: 'OpenDispute', data: { contractId: C, milestoneId: 'm2', by: 'h', reason: 'quality' } },
    ];
    const resolve = (workerMinor: number, hirerRefundMinor: number): EscrowCommand => ({
      type: 'ResolveDispute',
      data: { contractId: C, milestoneId: 'm2', by: 'admin', workerMinor, hirerRefundMinor, note: '' },
    });
    expect(refusal(() => decideEscrow(disputed, resolve(3_000, 999))).code).toBe('SPLIT_MISMATCH');
    expect(refusal(() => decideEscrow(disputed, resolve(-1, 4_001))).code).toBe('INVALID_AMOUNT');
    expect(refusal(() => decideEscrow(disputed, resolve(2_000.5, 1_999.5))).code).toBe('INVALID_AMOUNT');
    expect(refusal(() => decideEscrow(funded, resolve(2_800, 1_200))).code).toBe('NO_OPEN_DISPUTE');
    const [resolved] = decideEscrow(disputed, resolve(2_800, 1_200));
    expect(resolved).toMatchObject({ data: { workerMinor: 2_800, hirerRefundMinor: 1_200, feeMinor: 280 } });
    expect(refusal(() => decideEscrow([...disputed, resolve(2_800, 1_200)], resolve(2_800, 1_200))).code).toBe(
      'DISPUTE_RESOLVED',
    );
    const settled = decideEscrow([...disputed, resolve(2_800, 1_200)], {
      type: 'RecordDisputeSettled',
      data: { contractId: C, milestoneId: 'm2', transferRef: 'tr', refundRef: 're' },
    });
    expect(settled).toMatchObject([{ data: { workerNetMinor: 2_520, feeMinor: 280, hirerRefundMinor: 1_200 } }]);
  });

  it('lets only the parties dispute; evidence only while the dispute is open', () => {
    const byStranger: EscrowCommand = {
      type: 'OpenDispute',
      data: { contractId: C, milestoneId: 'm1', by: 'x', reason: 'r' },
    };
    expect(refusal(() => decideEscrow(funded, byStranger)).code).toBe('CONTRACT_NOT_FOUND');
    const evidence: EscrowCommand = {
      type: 'AddDisputeEvidence',
      data: { contractId: C, milestoneId: 'm1', by: 'h', note: 'photo' },
    };
    expect(refusal(() => decideEscrow(funded, evidence)).code).toBe('NO_OPEN_DISPUTE');
  });
});

const w = 'w-1';
const wallet = (commands: WalletCommand[]) =>
  run<Wallet, WalletCommand, ReturnType<typeof walletDecider.decide>[number]>(walletDecider, commands);
const opened: WalletCommand[] = [
  { type: 'OpenWallet', data: { workerId: w, accountRef: 'acct_1', currency: 'EUR' } },
  {
    type: 'CreditWallet',
    data: { workerId: w, contractId: C, milestoneId: 'm1', sourceId: 'r1', amountMinor: 5_400, currency: 'EUR' },
  },
];
const payout = (payoutId: string, amountMinor: number): WalletCommand => ({
  type: 'RequestPayout',
  data: { workerId: w, payoutId, amountMinor },
});
const decideWallet = (commands: WalletCommand[], next: WalletCommand) =>
  walletDecider.decide(next, wallet(commands).state, { now });

describe('Wallet decider', () => {
  it('credits a release once, in the wallet currency', () => {
    expect(decideWallet(opened, opened[1]!)).toEqual([]);
    const usd: WalletCommand = {
      type: 'CreditWallet',
      data: { workerId: w, contractId: C, milestoneId: 'm2', sourceId: 'r2', amountMinor: 1, currency: 'USD' },
    };
    expect(refusal(() => decideWallet(opened, usd)).code).toBe('WALLET_CURRENCY_MISMATCH');
  });

  it('pays out at least the minimum, at most what is available, one at a time', () => {
    expect(refusal(() => decideWallet(opened, payout('p1', MIN_PAYOUT_MINOR - 1))).code).toBe('PAYOUT_TOO_SMALL');
    expect(refusal(() => decideWallet(opened, payout('p1', 5_401))).code).toBe('INSUFFICIENT_FUNDS');
    expect(refusal(() => decideWallet([...opened, payout('p1', 2_000)], payout('p2', 1_000))).code).toBe(
      'PAYOUT_IN_PROGRESS',
    );
    expect(refusal(() => decideWallet([payout('p1', 2_000)], payout('p1', 2_000))).code).toBe('WALLET_NOT_FOUND');
    expect(wallet([...opened, payout('p1', 5_400)]).state).toMatchObject({ availableMinor: 0 });
  });

  it('gives a failed payout back once, even when the bank returns it after it was paid', () => {
    const paid: WalletCommand[] = [
      ...opened,
      payout('p1', 5_000),
      { type: 'RecordPayoutSent', data: { workerId: w, payoutId: 'p1', payoutRef: 'po_1' } },
      {
        type: 'RecordPayoutPaid',
        data: { workerId: w, payoutId: 'p1', notice: { accountRef: 'acct_1', payoutRef: 'po_1' } },
      },
    ];
    expect(wallet(paid).state).toMatchObject({ availableMinor: 400, payout: null });
    const failed: WalletCommand = {
      type: 'RecordPayoutFailed',
      data: {
        workerId: w,
        payoutId: 'p1',
        reason: 'account_closed',
        notice: { accountRef: 'acct_1', payoutRef: 'po_1' },
      },
    };
    expect(wallet([...paid, failed]).state).toMatchObject({ availableMinor: 5_400 });
    expect(decideWallet([...paid, failed], failed)).toEqual([]);
    // A paid payout's id cannot be requested again.
    expect(decideWallet([...paid, failed], payout('p1', 5_000))).toEqual([]);
    expect(refusal(() => decideWallet([...paid, failed], payout('p1', 1_000))).code).toBe('PAYOUT_ID_REUSED');
  });

  it('refuses a payout id reused for another amount; the same request again is a no-op', () => {
    expect(decideWallet([...opened, payout('p1', 2_000)], payout('p1', 2_000))).toEqual([]);
    expect(refusal(() => decideWallet([...opened, payout('p1', 2_000)], payout('p1', 3_000))).code).toBe(
      'PAYOUT_ID_REUSED',
    );
  });

  it('refuses a provider notice from another connected account or about another payout object', () => {
    const sent: WalletCommand[] = [
      ...opened,
      payout('p1', 5_000),
      { type: 'RecordPayoutSent', data: { workerId: w, payoutId: 'p1', payoutRef: 'po_1' } },
    ];
    const paid = (accountRef: string, payoutRef: string): WalletCommand => ({
      type: 'RecordPayoutPaid',
      data: { workerId: w, payoutId: 'p1', notice: { accountRef, payoutRef } },
    });
    expect(refusal(() => decideWallet(sent, paid('acct_other', 'po_1'))).code).toBe('PAYOUT_NOTICE_MISMATCH');
    expect(refusal(() => decideWallet(sent, paid('acct_1', 'po_other'))).code).toBe('PAYOUT_NOTICE_MISMATCH');
    const returned: WalletCommand = {
      type: 'RecordPayoutFailed',
      data: { workerId: w, payoutId: 'p1', reason: 'x', notice: { accountRef: 'acct_1', payoutRef: 'po_other' } },
    };
    expect(refusal(() => decideWallet([...sent, paid('acct_1', 'po_1')], returned)).code).toBe(
      'PAYOUT_NOTICE_MISMATCH',
    );
    // Without a notice (the payout process's own record of a refusal) a paid payout is never given back.
    const refusedByUs: WalletCommand = {
      type: 'RecordPayoutFailed',
      data: { workerId: w, payoutId: 'p1', reason: 'x' },
    };
    expect(decideWallet([...sent, paid('acct_1', 'po_1')], refusedByUs)).toEqual([]);
  });
});
