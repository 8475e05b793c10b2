import { DomainError } from '../../commands/decider.js';
import type { CommandContext } from '../../commands/executor.js';
import type { MarketplaceCommands } from '../../commands/marketplace/handlers.js';
import type { Milestone } from '../../schemas/marketplace/events.js';
import type { CommandHandler, CommandInvocation } from '../runtime/dispatcher.js';
import { JOB_FILLING_SAGA, SAGA_COMMANDS } from './job-filling.js';

/**
 * Internal calls (no role, so no party checks), each under the step's idempotency key, continuing the flow of
 * the event that led to the step.
 */
const contextOf = (invocation: CommandInvocation): CommandContext => ({
  actor: `saga:${JOB_FILLING_SAGA}`,
  correlationId: invocation.cause?.correlationId ?? invocation.sagaId,
  causationId: invocation.cause?.causationId ?? `${invocation.sagaType}:${invocation.step}`,
  idempotencyKey: invocation.idempotencyKey,
  ...(invocation.cause?.traceId ? { traceId: invocation.cause.traceId } : {}),
});

const text = (payload: Readonly<Record<string, unknown>>, name: string): string => {
  const value = payload[name];
  if (typeof value !== 'string') throw new DomainError('invalid', 'SAGA_PAYLOAD_INVALID', `saga command lacks ${name}`);
  return value;
};

/** How the accept-application process's commands are carried out: each is one marketplace command. */
export function jobFillingHandlers(marketplace: MarketplaceCommands): Record<string, CommandHandler> {
  return {
    [SAGA_COMMANDS.accept]: async (inv) => {
      const p = inv.payload;
      await marketplace.recordAcceptance(
        { applicationId: text(p, 'applicationId'), contractId: text(p, 'contractId') },
        contextOf(inv),
      );
    },
    [SAGA_COMMANDS.notSelected]: async (inv) => {
      const p = inv.payload;
      await marketplace.markNotSelected(
        { applicationId: text(p, 'applicationId'), contractId: text(p, 'contractId') },
        contextOf(inv),
      );
    },
    [SAGA_COMMANDS.createContract]: async (inv) => {
      const p = inv.payload;
      await marketplace.createContract(
        {
          contractId: text(p, 'contractId'),
          jobId: text(p, 'jobId'),
          applicationId: text(p, 'applicationId'),
          hirerId: text(p, 'hirerId'),
          workerId: text(p, 'workerId'),
          title: text(p, 'title'),
          amountMinor: Number(p.amountMinor),
          currency: text(p, 'currency'),
          milestones: p.milestones as Milestone[],
        },
        contextOf(inv),
      );
    },
    [SAGA_COMMANDS.reopen]: async (inv) => {
      const p = inv.payload;
      await marketplace.reopenJob(
        { jobId: text(p, 'jobId'), applicationId: text(p, 'applicationId'), reason: text(p, 'reason') },
        contextOf(inv),
      );
    },
  };
}

/** Domain refusals will not change on retry; everything else (the store, the registry) may. */
export const isTransient = (error: unknown): boolean => !(error instanceof DomainError);
