import type { CommandHandlers } from '../../commands/contexts.js';
import type { DemoData } from './context.js';
import { marketplace } from './marketplace.js';
import { ordering } from './ordering.js';

/** Every bounded context's demo data: add one line for a new context. */
export const demoContexts: readonly DemoData[] = [ordering, marketplace];

/** Loads every context's demo data in list order; what each made, by context. */
export async function loadDemoData(commands: CommandHandlers): Promise<Record<string, Record<string, number>>> {
  const made: Record<string, Record<string, number>> = {};
  for (const demo of demoContexts) made[demo.name] = await demo.load(commands);
  return made;
}
