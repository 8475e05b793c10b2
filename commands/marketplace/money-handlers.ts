import { randomUUID } from 'node:crypto';
import { executeAuthorised } from '../authorised.js';
import { DomainError } from '../decider.js';
import { type CommandContext, type CommandExecutor, type CommandResult, loadTarget } from '../executor.js';
import { contracts, escrows, wallets } from './aggregates.js';
import { type ContractCommand, contractDecider, contractNotFound } from './contract.js';
import { type Escrow, type EscrowCommand, escrowDecider, escrowNotFound } from './escrow.js';
import { type WalletCommand, walletDecider } from './wallet.js';

// The marketplace's money commands. From clients: fund a contract (its hirer), open a dispute and add evidence
// (its parties; evidence also admins), resolve a dispute (admins), request a payout (the wallet's worker). From
// the escrow and payout processes (no role: trusted): every record of what the provider did, and the contract's
// start, end and automatic approvals. A contract's escrow answers anyone but its parties (and admins) exactly as a
// missing contract does, so ids cannot be probed.

const isInternal = (ctx: CommandContext): boolean => ctx.role === undefined;
const isTrusted = (ctx: CommandContext): boolean => isInternal(ctx) || ctx.role === 'admin';

const partyToEscrow = (ctx: CommandContext) => (escrow: Escrow) => {
  if (escrow.status === 'none' || isTrusted(ctx)) return;
  if (ctx.actor !== escrow.hirerId && ctx.actor !== escrow.workerId) throw escrowNotFound(escrow.contractId);
};

export class MarketplaceMoneyCommands {
  constructor(private readonly executor: CommandExecutor) {}

  /**
   * The hirer funds the whole contract with a payment method (a provider token); the escrow process charges it.
   * Refused before any charge when the contract no longer waits for its money (cancelled or ended meanwhile: a
   * charge would only be refunded), or when its worker's wallet holds another currency (a worker is paid in one).
   */
  async fundContract(
    input: { contractId: string; paymentMethod: string },
    ctx: CommandContext,
  ): Promise<CommandResult> {
    const { contractId } = input;
    const command: EscrowCommand = { type: 'RequestFunding', data: { ...input, by: ctx.actor } };
    return executeAuthorised(
      this.executor,
      escrows,
      contractId,
      ctx,
      partyToEscrow(ctx),
      () => escrowNotFound(contractId),
      async (state, now) => {
        if (state.status !== 'none' && state.status !== 'FUNDED') {
          const [contract, wallet] = await this.executor.loadMany([
            loadTarget(contracts, contractId),
            loadTarget(wallets, state.workerId),
          ] as const);
          if (contract.state.status !== 'FUNDING') {
            throw new DomainError(
              'conflict',
              'CONTRACT_NOT_FUNDING',
              `contract ${contractId} is ${contract.state.status}`,
              {
                contractId,
                status: contract.state.status,
              },
            );
          }
          if (wallet.state.status !== 'none' && wallet.state.currency !== state.currency) {
            throw new DomainError(
              'conflict',
              'WALLET_CURRENCY_MISMATCH',
              `the worker is paid in ${wallet.state.currency}; this contract is in ${state.currency}`,
              { contractId, currency: state.currency, walletCurrency: wallet.state.currency },
            );
          }
        }
        return escrowDecider.decide(command, state, { now });
      },
    );
  }

  openDispute(input: { contractId: string; milestoneId: string; reason: string }, ctx: CommandContext) {
    return this.onEscrow({ type: 'OpenDispute', data: { ...input, by: ctx.actor } }, ctx);
  }

  addDisputeEvidence(input: { contractId: string; milestoneId: string; note: string }, ctx: CommandContext) {
    return this.onEscrow({ type: 'AddDisputeEvidence', data: { ...input, by: ctx.actor } }, ctx);
  }

  /** Admins only (the gateway's route roles): the split of a disputed milestone's held amount. */
  resolveDispute(
    input: { contractId: string; milestoneId: string; workerMinor: number; hirerRefundMinor: number; note: string },
    ctx: CommandContext,
  ) {
    return this.onEscrow({ type: 'ResolveDispute', data: { ...input, by: ctx.actor } }, ctx);
  }

  /** The worker pays out part of their available balance; the payout process sends it to the provider. */
  requestPayout(input: { amountMinor: number; payoutId?: string }, ctx: CommandContext): Promise<CommandResult> {
    const { payoutId = randomUUID(), amountMinor } = input;
    return this.recordWallet({ type: 'RequestPayout', data: { workerId: ctx.actor, payoutId, amountMinor } }, ctx);
  }

  /** Internal: what the escrow process learnt or decided, on the contract's escrow. */
  recordEscrow(command: EscrowCommand, ctx: CommandContext): Promise<CommandResult> {
    return this.onEscrow(command, ctx);
  }

  /** Internal: the worker's wallet (its owner is the stream: no one else's can be named). */
  recordWallet(command: WalletCommand, ctx: CommandContext): Promise<CommandResult> {
    return this.executor.execute(
      wallets,
      command.data.workerId,
      (state, now) => walletDecider.decide(command, state, { now }),
      ctx,
    );
  }

  /** Internal: the escrow process starts, ends or auto-approves on the contract. */
  recordContract(
    command: Extract<ContractCommand, { type: 'StartContract' | 'EndUnfundedContract' | 'ApproveMilestone' }>,
    ctx: CommandContext,
  ): Promise<CommandResult> {
    const { contractId } = command.data;
    return executeAuthorised(
      this.executor,
      contracts,
      contractId,
      ctx,
      () => {
        if (!isInternal(ctx)) throw contractNotFound(contractId);
      },
      () => contractNotFound(contractId),
      (state, now) => contractDecider.decide(command, state, { now }),
    );
  }

  private onEscrow(command: EscrowCommand, ctx: CommandContext): Promise<CommandResult> {
    const { contractId } = command.data;
    return executeAuthorised(
      this.executor,
      escrows,
      contractId,
      ctx,
      partyToEscrow(ctx),
      () => escrowNotFound(contractId),
      (state, now) => escrowDecider.decide(command, state, { now }),
    );
  }
}
