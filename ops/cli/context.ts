import type { Command } from 'commander';
import { type Config, ConfigError, loadConfig } from '../../runtime/config.js';
import { CliError, EXIT_USAGE } from './errors.js';
import { type CliIo, Output } from './output.js';
import { Services } from './services.js';

/** What every command's handler gets: its connections (opened on use), its output, and its usage reporter. */
export interface ActionContext {
  readonly config: Config;
  readonly services: Services;
  readonly out: Output;
  readonly io: CliIo;
  /** Reports a wrong invocation found after parsing (missing target, contradicting options): usage, exit 2. */
  usage(message: string): never;
}

/** Global options, declared on the program and visible to every subcommand. */
export interface GlobalOptions {
  readonly json?: boolean;
}

export function configFrom(env: CliIo['env']): Config {
  try {
    return loadConfig(env, { secrets: 'unused' }); // the CLI signs and verifies nothing
  } catch (error) {
    if (error instanceof ConfigError)
      throw new CliError(`invalid configuration: ${error.problems.join('; ')}`, EXIT_USAGE);
    throw error;
  }
}

/**
 * Wraps a command handler for commander: builds the context from the global options and the environment, runs
 * the handler, and closes every connection it opened whatever happens, so the process can exit at once.
 * Commander passes the positional arguments, then the options, then the command; the handler gets them in that
 * order after the context.
 */
export function action<P extends unknown[]>(
  io: CliIo,
  handler: (ctx: ActionContext, ...params: P) => Promise<void>,
): (...args: unknown[]) => Promise<void> {
  return async (...args: unknown[]) => {
    const command = args.at(-1) as Command;
    const globals = command.optsWithGlobals<GlobalOptions>();
    const config = configFrom(io.env);
    const services = new Services(config);
    const ctx: ActionContext = {
      config,
      services,
      out: new Output(globals.json === true, io),
      io,
      usage: (message) => command.error(`error: ${message}`, { exitCode: EXIT_USAGE, code: 'ledger.usage' }),
    };
    try {
      await handler(ctx, ...(args.slice(0, -1) as P));
    } finally {
      await services.close();
    }
  };
}
