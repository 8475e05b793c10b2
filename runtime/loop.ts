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
  /** Work was announced while a step ran: the next idle pause is skipped. */
  private nudged = false;
  /** Whether the pause now is for lack of work (a nudge ends it), not a back-off after a failure (it does not). */
  private idle = false;

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

  /**
   * Says there may be work now (another part of the process has just made some): a pause for lack of work ends at
   * once, and a step running now is followed by another without one. Cheaper than a shorter idle poll.
   */
  nudge(): void {
    this.nudged = true;
    if (this.idle) this.wake?.();
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
        this.nudged = false;
        const worked = await this.step();
        failures = 0;
        if (!worked && !this.nudged) await this.pause(this.options.idleMs, true);
      } catch (error) {
        failures++;
        const backoffMs = Math.min(
          this.options.maxBackoffMs ?? 5000,
          (this.options.backoffMs ?? 100) * 2 ** Math.min(failures - 1, 10),
        );
        this.logger.error({ err: error, worker: this.name, backoffMs }, `${this.name} failed; retrying`);
        await this.pause(backoffMs, false);
      }
    }
  }

  private pause(ms: number, idle: boolean): Promise<void> {
    this.idle = idle;
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    }).finally(() => {
      this.wake = null;
      this.idle = false;
    });
  }
}
