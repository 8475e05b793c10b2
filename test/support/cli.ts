import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { runCli } from '../../ops/cli/program.js';

// The CLI as engineers run it: a separate process (`ops/cli/main.ts` under tsx), configured only by the
// environment, its exit code, stdout and stderr captured. `inProcess` runs the same program (`runCli`, what
// main.ts calls) in the test's process with the same environment: the same output and exit codes, without a
// process start per run (seconds each on a busy machine).

const root = fileURLToPath(new URL('../..', import.meta.url));

export interface LedgerRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface LedgerCli {
  /** Runs `ledger <args>` with the environment given plus `env`. */
  ledger(args: readonly string[], env?: Record<string, string>): Promise<LedgerRun>;
  /** Runs with --json, expects success, and parses stdout (which must be exactly one JSON document). */
  ledgerJson<T>(args: readonly string[], env?: Record<string, string>): Promise<T>;
}

/** `environment()` is read at each run: the connection variables (DATABASE_URL, TOPIC_PREFIX, ...) of the test. */
export function ledgerCli(
  environment: () => Record<string, string>,
  options: { readonly inProcess?: boolean } = {},
): LedgerCli {
  const inProcess = async (args: readonly string[], env: Record<string, string> = {}): Promise<LedgerRun> => {
    let stdout = '';
    let stderr = '';
    const code = await runCli(args, {
      stdout: { write: (text: string) => (stdout += text) },
      stderr: { write: (text: string) => (stderr += text) },
      env: { ...process.env, ...environment(), ...env },
    });
    return { code, stdout, stderr };
  };
  const spawned = (args: readonly string[], env: Record<string, string> = {}): Promise<LedgerRun> =>
    new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'ops/cli/main.ts', ...args], {
        cwd: root,
        env: { ...process.env, ...environment(), ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString();
      });
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
      });
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
  const ledger = options.inProcess ? inProcess : spawned;
  const ledgerJson = async <T>(args: readonly string[], env: Record<string, string> = {}): Promise<T> => {
    const run = await ledger(['--json', ...args], env);
    expect(run.code, `ledger ${args.join(' ')}: ${run.stderr}`).toBe(0);
    return JSON.parse(run.stdout) as T;
  };
  return { ledger, ledgerJson };
}
