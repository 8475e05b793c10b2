import { Command, CommanderError } from 'commander';
import { registerDlq } from './commands/dlq.js';
import { registerEvents } from './commands/events.js';
import { registerOutbox } from './commands/outbox.js';
import { registerProjections } from './commands/projections.js';
import { registerReplay } from './commands/replay.js';
import { registerSagas } from './commands/sagas.js';
import { registerSchemas } from './commands/schemas.js';
import { registerStreams } from './commands/streams.js';
import { CliError, EXIT_USAGE, firstLine } from './errors.js';
import type { CliIo } from './output.js';

/**
 * The `ledger` program. Settings made here before the subcommands are added (output, exit override, help
 * after errors) are inherited by every subcommand, so a wrong invocation anywhere is reported the same way.
 */
export function buildProgram(io: CliIo): Command {
  const program = new Command('ledger')
    .description("Ledgerline engineers' CLI: inspect, follow, replay and rebuild event streams")
    .option('--json', 'print one JSON document on stdout (for scripts); progress and errors stay on stderr')
    .addHelpText(
      'after',
      '\nConnections come from the environment: DATABASE_URL, READ_DATABASE_URL, KAFKA_BROKERS, ' +
        'SCHEMA_REGISTRY_URL, REDIS_URL, SEARCH_URL, TOPIC_PREFIX, OUTBOX_SHARDS.\n' +
        'Exit codes: 0 ok, 1 failure, 2 wrong invocation.',
    )
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    })
    .showHelpAfterError(true);
  registerStreams(program, io);
  registerEvents(program, io);
  registerReplay(program, io);
  registerProjections(program, io);
  registerSchemas(program, io);
  registerOutbox(program, io);
  registerDlq(program, io);
  registerSagas(program, io);
  return program;
}

/** Runs one invocation; returns the exit code. Never throws: every failure is reported on stderr here. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    await buildProgram(io).parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander has printed the message and the usage already; --help and --version end here with 0.
      return error.exitCode === 0 ? 0 : EXIT_USAGE;
    }
    if (error instanceof CliError) {
      io.stderr.write(`ledger: ${error.message}\n`);
      return error.exitCode;
    }
    io.stderr.write(`ledger: ${firstLine(error)}\n`);
    if (io.env.LEDGER_DEBUG === '1' && error instanceof Error && error.stack) io.stderr.write(`${error.stack}\n`);
    return 1;
  }
}
