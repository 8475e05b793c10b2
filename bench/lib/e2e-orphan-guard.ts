// Preloaded (`node --import tsx --import <this file> <role>/main.ts`) into every process the e2e suite starts.
// The harness holds the write end of each child's stdin; when the harness goes away for any reason — even
// SIGKILL, which no handler of its own sees — the pipe closes, and the child stops itself the way it stops on
// SIGTERM (the role's own graceful stop), so no process of a benchmark outlives it.

/** How long the role's own graceful stop may take before the child exits anyway. */
const GRACE_MS = 10_000;

let stopping = false;
const stopSelf = (): void => {
  if (stopping) return;
  stopping = true;
  setTimeout(() => process.exit(1), GRACE_MS).unref();
  process.kill(process.pid, 'SIGTERM');
};

process.stdin.on('end', stopSelf);
process.stdin.on('close', stopSelf);
process.stdin.on('error', stopSelf);
process.stdin.resume();
