import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { sleep } from './progress.js';

// The roles of the system as separate processes, started as production runs them (`node <role>/main.ts` with
// tsx), each writing its log to a file. Every child is tracked from spawn to exit, and stopped on every way out
// of the harness: a normal stop (SIGTERM, then SIGKILL after a grace period), an error, SIGINT/SIGTERM of the
// harness, process.exit (the harness's watchdog) — and, through the orphan guard each child preloads, even a
// SIGKILL of the harness.

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const GUARD = new URL('./e2e-orphan-guard.ts', import.meta.url).href;
/** How long a role gets to stop gracefully (finish its batch, commit, disconnect) before it is killed. */
const STOP_GRACE_MS = 10_000;

export interface RoleSpec {
  /** A short name for progress lines and errors: gateway, relay, projector, sagas, payments. */
  readonly name: string;
  /** The entry point, relative to the repository root. */
  readonly script: string;
  readonly env: NodeJS.ProcessEnv;
  /** The log file (stdout and stderr). */
  readonly logFile: string;
}

export interface RoleProcess {
  readonly name: string;
  readonly pid: number;
  readonly logFile: string;
  /** Null while running; the exit code or signal once it ended. */
  exited(): string | null;
  /** The log so far. */
  log(): string;
}

interface Tracked extends RoleProcess {
  readonly child: ChildProcess;
  readonly done: Promise<void>;
}

const running = new Set<Tracked>();

/** Synchronous on purpose: it also runs from the 'exit' event, where nothing asynchronous happens any more. */
function killAllNow(): void {
  for (const role of running) {
    if (role.exited() === null) {
      try {
        process.kill(role.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}

/** Removals of what a run made outside its processes (database, topics, keys), run on SIGINT/SIGTERM. */
const cleanups = new Set<() => Promise<void>>();
/** How long an interrupted run may spend removing what it made before it exits anyway. */
const INTERRUPT_CLEANUP_MS = 20_000;

let handlersInstalled = false;
let interrupted = false;
const onSignal = (signal: NodeJS.Signals): void => {
  const code = signal === 'SIGINT' ? 130 : 143;
  killAllNow();
  if (interrupted) process.exit(code); // a second signal: no more waiting
  interrupted = true;
  process.stderr.write(`e2e: ${signal}: child processes killed; removing what the run made (signal again to skip)\n`);
  const all = Promise.allSettled([...cleanups].map((cleanup) => cleanup()));
  void Promise.race([all, sleep(INTERRUPT_CLEANUP_MS)]).finally(() => process.exit(code));
};

/** While children run, the harness's own ways of ending take them along. Removed once the last one is gone. */
function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', killAllNow);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

function removeHandlersIfIdle(): void {
  if (!handlersInstalled || running.size > 0 || cleanups.size > 0) return;
  handlersInstalled = false;
  process.off('exit', killAllNow);
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
}

/**
 * Registers a removal to run if the harness is interrupted (after its children are killed); the returned
 * function unregisters it once the run has removed everything itself.
 */
export function cleanUpOnInterrupt(cleanup: () => Promise<void>): () => void {
  installHandlers();
  cleanups.add(cleanup);
  return () => {
    cleanups.delete(cleanup);
    removeHandlersIfIdle();
  };
}

/** Starts a role; its stdout and stderr go straight to its log file (no pipe through this process). */
export function spawnRole(spec: RoleSpec): RoleProcess {
  installHandlers();
  const fd = openSync(spec.logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(process.execPath, ['--import', 'tsx', '--import', GUARD, `${ROOT}${spec.script}`], {
      cwd: ROOT,
      env: spec.env,
      // stdin stays a pipe held by this process: the orphan guard stops the child when it closes.
      stdio: ['pipe', fd, fd],
    });
  } finally {
    closeSync(fd);
  }
  if (child.pid === undefined) throw new Error(`could not start ${spec.name} (${spec.script})`);
  let exit: string | null = null;
  const done = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exit = signal ?? `code ${code}`;
      resolve();
    });
  });
  const tracked: Tracked = {
    name: spec.name,
    pid: child.pid,
    logFile: spec.logFile,
    child,
    done,
    exited: () => exit,
    log: () => {
      try {
        return readFileSync(spec.logFile, 'utf8');
      } catch {
        return '';
      }
    },
  };
  running.add(tracked);
  void done.then(() => {
    running.delete(tracked);
    removeHandlersIfIdle();
  });
  return tracked;
}

const tail = (text: string, lines: number): string => text.trimEnd().split('\n').slice(-lines).join('\n');

/**
 * Waits until the role's log holds `count` lines matching `ready` (polled: the log is a file), failing early
 * with the log's tail if the process exits first.
 */
export async function waitForLog(role: RoleProcess, ready: RegExp, timeoutMs: number, count = 1): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const log = role.log();
    const matches = log.split('\n').filter((line) => ready.test(line)).length;
    if (matches >= count) return;
    const exit = role.exited();
    if (exit !== null) throw new Error(`${role.name} exited (${exit}) while starting:\n${tail(log, 15)}`);
    if (performance.now() > deadline) {
      throw new Error(`${role.name} was not ready within ${timeoutMs} ms (waiting for ${ready}):\n${tail(log, 15)}`);
    }
    await sleep(200);
  }
}

/** Fails with the log's tail of the first role that has exited: a role dying mid-run voids the measurement. */
export function assertAlive(roles: readonly RoleProcess[]): void {
  for (const role of roles) {
    const exit = role.exited();
    if (exit !== null) throw new Error(`${role.name} exited (${exit}) during the run:\n${tail(role.log(), 15)}`);
  }
}

/**
 * Stops roles gracefully in the given order (SIGTERM; each role's main stops on it), SIGKILLs whatever is still
 * running after the grace period, and resolves once every one of them has exited.
 */
export async function stopRoles(roles: readonly RoleProcess[]): Promise<void> {
  for (const role of roles) {
    const tracked = [...running].find((r) => r.pid === role.pid);
    if (!tracked || tracked.exited() !== null) continue;
    tracked.child.kill('SIGTERM');
    const stopped = await Promise.race([tracked.done.then(() => true), sleep(STOP_GRACE_MS).then(() => false)]);
    if (!stopped) {
      tracked.child.kill('SIGKILL');
      await tracked.done;
    }
  }
}
