import { Worker } from 'node:worker_threads';

// Load generators and SSE clients run on a worker thread, so the gateway under test has this thread's event
// loop to itself, as it would in its own process. Node 20 does not apply the loader hooks the harness runs
// under (tsx, for TypeScript) to a worker's entry module, so the worker starts from a tiny script that
// registers tsx first and then imports the module.

/** Starts `module` (a .ts file URL) on a worker thread with `workerData`. */
export function startWorker(module: URL, workerData: unknown): Worker {
  const tsx = import.meta.resolve('tsx/esm/api');
  const boot =
    `import(${JSON.stringify(tsx)})` +
    `.then(({ register }) => { register(); return import(${JSON.stringify(module.href)}); });`;
  return new Worker(boot, { eval: true, workerData });
}

/** The next message from the worker that `accept` recognises, or the worker's error, or a timeout. */
export function nextMessage<T>(
  worker: Worker,
  accept: (message: unknown) => message is T,
  timeoutMs: number,
  what: string,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const cleanup = () => {
      clearTimeout(timer);
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
    };
    const onMessage = (message: unknown) => {
      if (!accept(message)) return;
      cleanup();
      resolve(message);
    };
    const onError = (error: Error) => {
      cleanup();
      reject(error);
    };
    const onExit = (code: number) => {
      cleanup();
      reject(new Error(`the worker exited with ${code} while waiting for ${what}`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`${what} did not arrive within ${timeoutMs} ms`));
    }, timeoutMs);
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
  });
}
