import { DomainError } from '../../../commands/decider.js';
import type { CommandContext, CommandResult } from '../../../commands/executor.js';
import { contracts } from '../../../commands/marketplace/aggregates.js';
import type { WriteSide } from '../../../commands/write-side.js';

// A contract is made FUNDING and starts only when its escrow holds the money: the escrow process then issues
// StartContract. Tests about the work itself (milestones, reviews, notifications) do not run the payment
// provider, so they start the contract as that process would: the same internal command, with no role.

/** The escrow process's context: no role (trusted, internal); the test is named as the actor. */
const escrowProcess = (contractId: string): CommandContext => ({
  actor: 'test:escrow-process',
  correlationId: `test-start-${contractId}`,
});

/**
 * Starts `contractId` as the escrow process does once the escrow is funded, waiting up to `timeoutMs` for the
 * contract to exist (a process may still be making it). Fails, naming the status, unless the contract is then
 * ACTIVE: a contract cancelled or ended meanwhile would let a test go on against the wrong state.
 */
export async function startContract(
  write: Pick<WriteSide, 'marketplace' | 'executor'>,
  contractId: string,
  timeoutMs = 30_000,
): Promise<CommandResult> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const result = await write.marketplace.money.recordContract(
        { type: 'StartContract', data: { contractId } },
        escrowProcess(contractId),
      );
      const { state } = await write.executor.load(contracts, contractId);
      if (state.status !== 'ACTIVE') {
        throw new Error(`contract ${contractId} did not start: it is ${state.status}`);
      }
      return result;
    } catch (error) {
      const missing = error instanceof DomainError && error.code === 'CONTRACT_NOT_FOUND';
      if (!missing) throw error;
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for contract ${contractId}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}
