/** Whether the module at `url` is the script node was started with (not imported by another one). */
export const isEntryPoint = (url: string): boolean => url === `file://${process.argv[1]}`;

/** Starts a role of the system and stops it gracefully on SIGINT or SIGTERM (exit 0, or 1 if stopping fails). */
export async function runUntilSignal(start: () => Promise<{ stop(): Promise<void> }>): Promise<void> {
  const running = await start();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      running.stop().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    });
  }
}
