import type { DomainError, DomainEvent } from './decider.js';
import type { Aggregate, CommandContext, CommandExecutor, CommandResult } from './executor.js';

/**
 * Runs a command on an existing aggregate the caller must be allowed to see (`authorize` throws the aggregate's
 * own not-found refusal otherwise, so another's resource answers exactly as a missing one). With a version pinned
 * by If-Match the executor compares versions before deciding, and a conflict would name the stream's version to
 * anyone: so then the caller is authorised first, on a load of its own, and a missing stream answers `missing()`.
 * (The early check holds only where who may act on an aggregate never changes once it exists.)
 */
export async function executeAuthorised<State extends { readonly status: string }, Event extends DomainEvent>(
  executor: CommandExecutor,
  aggregate: Aggregate<State, Event>,
  id: string,
  ctx: CommandContext,
  authorize: (state: State) => void | Promise<void>,
  missing: () => DomainError,
  decide: (state: State, now: Date) => Event[] | Promise<Event[]>,
): Promise<CommandResult> {
  if (ctx.expectedVersion !== undefined) {
    const { state } = await executor.load(aggregate, id);
    if (state.status === 'none') throw missing();
    await authorize(state);
  }
  return executor.execute(
    aggregate,
    id,
    async (state, now) => {
      await authorize(state);
      return decide(state, now);
    },
    ctx,
  );
}
