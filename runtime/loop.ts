import type { Logger } from './log.js';

export interface LoopOptions {
  /** Pause when a step found nothing to do. */
  readonly idleMs: number;
  /** First pause after a failed step; doubled per consecutive failure, up to maxBackoffMs. */
  readonly backoffMs?: number;
  readonly maxBackoffMs?: number;
}

/**
 * A background worker: runs `step` again and again until stopped, pausing when a step found no work and backing
 * off when one fails (logged, never thrown: a worker outlives a database restart). stop() wakes a pause and waits
 * for the step in flight to finish.
 */
export class BackgroundLoop {
  private running = false;
  private loop: Promise<void> | null = null;
  private wake: (() => void) | null = null;

  constructor(
    private readonly name: string,
    private readonly step: () => Promise<boolean>,
    private readonly logger: Logger,
    private readonly options: LoopOptions,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (this.running) {
      try {
        const worked = await this.step();
        failures = 0;
        if (!worked) await this.pause(this.options.idleMs);
      } catch (error) {
        failures++;
        const backoffMs = Math.min(
          this.options.maxBackoffMs ?? 5000,
          (this.options.backoffMs ?? 100) * 2 ** Math.min(failures - 1, 10),
        );
        this.logger.error({ err: error, worker: this.name, backoffMs }, `${this.name} failed; retrying`);
        await this.pause(backoffMs);
      }
    }
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}
