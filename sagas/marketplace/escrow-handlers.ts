import { DomainError } from '../../commands/decider.js';
import type { CommandContext, CommandExecutor } from '../../commands/executor.js';
import { escrows, wallets } from '../../commands/marketplace/aggregates.js';
import { type ExistingEscrow, feeOf } from '../../commands/marketplace/escrow.js';
import type { MarketplaceMoneyCommands } from '../../commands/marketplace/money-handlers.js';
import type { ConnectProvider } from '../payments/connect-port.js';
import type { CommandHandler, CommandInvocation } from '../runtime/dispatcher.js';
import { ESCROW_COMMANDS, ESCROW_SAGA } from './escrow.js';
import { PAYOUT_COMMANDS, PAYOUT_SAGA } from './payouts.js';

// How the escrow and payout processes' steps are carried out. A step that moves money does it in three moves, each
// idempotent on its own key (the step's key plus a suffix), so a step retried after a crash anywhere repeats
// nothing: (1) the intent recorded on the escrow (the door shut to the other uses of that money), (2) the provider
// call with the step's key (the provider answers a repeated key with the first answer), (3) the outcome recorded.

/** Where workers' connected accounts are opened: the platform's country (a real deployment onboards through Stripe). */
export const CONNECTED_ACCOUNT_COUNTRY = 'IE';

const contextOf = (invocation: CommandInvocation, saga: string, suffix: string): CommandContext => ({
  actor: `saga:${saga}`,
  correlationId: invocation.cause?.correlationId ?? invocation.sagaId,
  causationId: invocation.cause?.causationId ?? `${invocation.sagaType}:${invocation.step}`,
  idempotencyKey: `${invocation.idempotencyKey}${suffix}`,
  ...(invocation.cause?.traceId ? { traceId: invocation.cause.traceId } : {}),
});

const text = (payload: Readonly<Record<string, unknown>>, name: string): string => {
  const value = payload[name];
  if (typeof value !== 'string' || value === '') {
    throw new DomainError('invalid', 'SAGA_PAYLOAD_INVALID', `saga command lacks ${name}`);
  }
  return value;
};

const amount = (payload: Readonly<Record<string, unknown>>, name: string): number => {
  const value = payload[name];
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new DomainError('invalid', 'SAGA_PAYLOAD_INVALID', `saga command lacks a whole ${name}`);
  }
  return value;
};

export interface EscrowHandlerDeps {
  readonly money: MarketplaceMoneyCommands;
  readonly executor: CommandExecutor;
  readonly provider: ConnectProvider;
}

export function escrowHandlers({ money, executor, provider }: EscrowHandlerDeps): Record<string, CommandHandler> {
  const ctx = (inv: CommandInvocation, suffix = '') => contextOf(inv, ESCROW_SAGA, suffix);

  const loadEscrow = async (contractId: string): Promise<ExistingEscrow> => {
    const { state } = await executor.load(escrows, contractId);
    if (state.status === 'none') throw new DomainError('not_found', 'ESCROW_NOT_FOUND', `no escrow for ${contractId}`);
    return state;
  };

  const chargeOf = (escrow: ExistingEscrow): string => {
    if (escrow.chargeRef === null) {
      throw new DomainError('conflict', 'ESCROW_NOT_FUNDED', `contract ${escrow.contractId} holds no charge`);
    }
    return escrow.chargeRef;
  };

  /**
   * Refuses, before any money moves, to pay a worker whose wallet holds another currency: the transfer would reach
   * their account but never their wallet. The money stays where it is and the step fails visibly.
   */
  const payableIn = async (workerId: string, currency: string): Promise<void> => {
    const { state } = await executor.load(wallets, workerId);
    if (state.status !== 'none' && state.currency !== currency) {
      throw new DomainError(
        'conflict',
        'WALLET_CURRENCY_MISMATCH',
        `the worker is paid in ${state.currency}, not ${currency}`,
      );
    }
  };

  /** The worker's connected account, opened (once: keyed by the worker) with their wallet the first time. */
  const accountOf = async (workerId: string, currency: string, inv: CommandInvocation): Promise<string> => {
    const { state } = await executor.load(wallets, workerId);
    if (state.status !== 'none') return state.accountRef;
    const { accountRef } = await provider.openConnectedAccount(
      { workerId, country: CONNECTED_ACCOUNT_COUNTRY },
      `connected-account:${workerId}`,
    );
    await money.recordWallet({ type: 'OpenWallet', data: { workerId, accountRef, currency } }, ctx(inv, ':wallet'));
    return accountRef;
  };

  /** Transfers the worker's net amount and credits their wallet with it (skipped when nothing is owed). */
  const payWorker = async (
    inv: CommandInvocation,
    escrow: ExistingEscrow,
    sourceId: string,
    netMinor: number,
  ): Promise<string | null> => {
    if (netMinor === 0) return null;
    const destinationAccountRef = await accountOf(escrow.workerId, escrow.currency, inv);
    const { transferRef } = await provider.transfer(
      {
        contractId: escrow.contractId,
        releaseId: sourceId,
        destinationAccountRef,
        amountMinor: netMinor,
        currency: escrow.currency,
        sourceChargeRef: chargeOf(escrow),
      },
      `${inv.idempotencyKey}:transfer`,
    );
    return transferRef;
  };

  const credit = (
    inv: CommandInvocation,
    escrow: ExistingEscrow,
    milestoneId: string,
    sourceId: string,
    net: number,
  ) =>
    net === 0
      ? Promise.resolve()
      : money
          .recordWallet(
            {
              type: 'CreditWallet',
              data: {
                workerId: escrow.workerId,
                contractId: escrow.contractId,
                milestoneId,
                sourceId,
                amountMinor: net,
                currency: escrow.currency,
              },
            },
            ctx(inv, ':credit'),
          )
          .then(() => undefined);

  return {
    [ESCROW_COMMANDS.open]: async (inv) => {
      const p = inv.payload;
      await money.recordEscrow(
        {
          type: 'OpenEscrow',
          data: {
            contractId: text(p, 'contractId'),
            hirerId: text(p, 'hirerId'),
            workerId: text(p, 'workerId'),
            amountMinor: amount(p, 'amountMinor'),
            currency: text(p, 'currency'),
            feeBps: amount(p, 'feeBps'),
            milestones: p.milestones as { milestoneId: string; amountMinor: number }[],
            fundBy: text(p, 'fundBy'),
          },
        },
        ctx(inv),
      );
    },

    [ESCROW_COMMANDS.charge]: async (inv) => {
      const p = inv.payload;
      const contractId = text(p, 'contractId');
      const attempt = amount(p, 'attempt');
      const result = await provider.charge(
        {
          contractId,
          hirerId: text(p, 'hirerId'),
          amountMinor: amount(p, 'amountMinor'),
          currency: text(p, 'currency'),
          cardToken: text(p, 'paymentMethod'),
        },
        inv.idempotencyKey,
      );
      await money.recordEscrow(
        result.outcome === 'captured'
          ? {
              type: 'RecordFunded',
              data: { contractId, attempt, chargeRef: result.chargeRef, amountMinor: amount(p, 'amountMinor') },
            }
          : { type: 'RecordFundingDeclined', data: { contractId, attempt, reason: result.reason } },
        ctx(inv, ':record'),
      );
    },

    [ESCROW_COMMANDS.start]: async (inv) => {
      await money.recordContract(
        { type: 'StartContract', data: { contractId: text(inv.payload, 'contractId') } },
        ctx(inv),
      );
    },

    [ESCROW_COMMANDS.endUnfunded]: async (inv) => {
      const p = inv.payload;
      await money.recordContract(
        { type: 'EndUnfundedContract', data: { contractId: text(p, 'contractId'), reason: text(p, 'reason') } },
        ctx(inv),
      );
    },

    [ESCROW_COMMANDS.autoApprove]: async (inv) => {
      const p = inv.payload;
      await money.recordContract(
        {
          type: 'ApproveMilestone',
          data: {
            contractId: text(p, 'contractId'),
            milestoneId: text(p, 'milestoneId'),
            by: 'system:auto-approve',
            auto: true,
          },
        },
        ctx(inv),
      );
    },

    [ESCROW_COMMANDS.release]: async (inv) => {
      const p = inv.payload;
      const contractId = text(p, 'contractId');
      const milestoneId = text(p, 'milestoneId');
      const releaseId = text(p, 'releaseId');
      const held = await loadEscrow(contractId);
      // The wallet is opened first (one append on its stream: of two first releases in different currencies one
      // opens it, the other then reads its currency), and checked before any money moves.
      await accountOf(held.workerId, held.currency, inv);
      await payableIn(held.workerId, held.currency);
      await money.recordEscrow(
        { type: 'StartRelease', data: { contractId, milestoneId, releaseId } },
        ctx(inv, ':start'),
      );
      const escrow = await loadEscrow(contractId);
      const m = escrow.milestones.find((x) => x.milestoneId === milestoneId);
      if (!m || m.releaseId !== releaseId)
        throw new DomainError('conflict', 'RELEASE_NOT_STARTED', 'release not recorded');
      const net = m.amountMinor - feeOf(m.amountMinor, escrow.feeBps);
      const transferRef = await payWorker(inv, escrow, releaseId, net);
      await money.recordEscrow(
        { type: 'RecordReleased', data: { contractId, milestoneId, releaseId, transferRef: transferRef ?? 'none' } },
        ctx(inv, ':record'),
      );
      await credit(inv, escrow, milestoneId, releaseId, net);
    },

    [ESCROW_COMMANDS.settle]: async (inv) => {
      const p = inv.payload;
      const contractId = text(p, 'contractId');
      const milestoneId = text(p, 'milestoneId');
      const escrow = await loadEscrow(contractId);
      const m = escrow.milestones.find((x) => x.milestoneId === milestoneId);
      if (m?.status === 'SETTLED') return;
      if (!m?.split || m.status !== 'SETTLING') {
        throw new DomainError(
          'conflict',
          'DISPUTE_NOT_RESOLVED',
          `milestone ${milestoneId} has no resolution to settle`,
        );
      }
      const sourceId = `dispute:${contractId}:${milestoneId}`;
      const net = m.split.workerMinor - m.split.feeMinor;
      if (net > 0) {
        await accountOf(escrow.workerId, escrow.currency, inv);
        await payableIn(escrow.workerId, escrow.currency);
      }
      const transferRef = await payWorker(inv, escrow, sourceId, net);
      const refundRef =
        m.split.hirerRefundMinor === 0
          ? null
          : (await provider.refundCharge(chargeOf(escrow), m.split.hirerRefundMinor, `${inv.idempotencyKey}:refund`))
              .refundRef;
      await money.recordEscrow(
        { type: 'RecordDisputeSettled', data: { contractId, milestoneId, transferRef, refundRef } },
        ctx(inv, ':record'),
      );
      await credit(inv, escrow, milestoneId, sourceId, net);
    },

    [ESCROW_COMMANDS.refund]: async (inv) => {
      const p = inv.payload;
      const contractId = text(p, 'contractId');
      const refundId = text(p, 'refundId');
      const milestoneIds = p.milestoneIds as string[];
      await money.recordEscrow(
        { type: 'StartRefund', data: { contractId, refundId, milestoneIds, reason: text(p, 'reason') } },
        ctx(inv, ':start'),
      );
      const escrow = await loadEscrow(contractId);
      const taken = escrow.milestones.filter((m) => m.refundId === refundId);
      if (taken.length === 0) return; // nothing was still held (disputed or released meanwhile)
      if (taken.every((m) => m.status === 'REFUNDED')) return;
      const total = taken.reduce((t, m) => t + m.amountMinor, 0);
      const { refundRef } = await provider.refundCharge(chargeOf(escrow), total, inv.idempotencyKey);
      await money.recordEscrow(
        { type: 'RecordRefunded', data: { contractId, refundId, refundRef } },
        ctx(inv, ':record'),
      );
    },

    [PAYOUT_COMMANDS.send]: async (inv) => {
      const p = inv.payload;
      const workerId = text(p, 'workerId');
      const payoutId = text(p, 'payoutId');
      const { state } = await executor.load(wallets, workerId);
      if (state.status === 'none' || state.payout?.payoutId !== payoutId) return; // ended meanwhile
      if (state.payout.status === 'SENT') return;
      const { payoutRef } = await provider.payout(
        {
          payoutId,
          workerId,
          accountRef: state.accountRef,
          amountMinor: state.payout.amountMinor,
          currency: state.currency,
        },
        inv.idempotencyKey,
      );
      await money.recordWallet(
        { type: 'RecordPayoutSent', data: { workerId, payoutId, payoutRef } },
        contextOf(inv, PAYOUT_SAGA, ':record'),
      );
    },

    [PAYOUT_COMMANDS.fail]: async (inv) => {
      const p = inv.payload;
      await money.recordWallet(
        {
          type: 'RecordPayoutFailed',
          data: { workerId: text(p, 'workerId'), payoutId: text(p, 'payoutId'), reason: text(p, 'reason') },
        },
        contextOf(inv, PAYOUT_SAGA, ''),
      );
    },
  };
}
