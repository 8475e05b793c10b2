import type { CommandHandlers } from '../../commands/contexts.js';

/** A context's demo data for the quick start: appended through its command handlers, idempotently. */
export interface DemoData {
  readonly name: string;
  /** Loads the data (fixed ids and idempotency keys, so a second run appends nothing); returns what it made. */
  readonly load: (commands: CommandHandlers) => Promise<Record<string, number>>;
}
