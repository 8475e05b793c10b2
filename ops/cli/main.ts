// `ledger`: the engineers' CLI (see ops/cli/README.md). Run it as `ops/cli/ledger ...` or
// `npx tsx ops/cli/main.ts ...`.
import { firstLine } from './errors.js';
import { runCli } from './program.js';

// `ledger ... | head`: the reader went away; that is the end of the output, not an error worth a stack trace.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
});
// A library failing outside any await of ours is still reported in one line.
process.on('unhandledRejection', (reason) => {
  process.stderr.write(`ledger: ${firstLine(reason)}\n`);
  process.exit(1);
});

const code = await runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env });
process.exitCode = code;
// Every connection is closed by now; should a library still hold a socket or timer, it must not keep the
// command from returning. unref: this timer alone never keeps the process alive.
setTimeout(() => process.exit(code), 2000).unref();
