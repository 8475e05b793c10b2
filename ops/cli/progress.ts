import { duration, type Sink } from './output.js';

/** Rate and time left, from what is done so far. */
export function estimate(done: number, total: number, elapsedSeconds: number) {
  const rate = elapsedSeconds > 0 ? done / elapsedSeconds : 0;
  const etaSeconds = rate > 0 ? Math.max(0, (total - done) / rate) : null;
  return { rate, etaSeconds };
}

/** "label [#########-----------]  45%  4500/10000  1200/s  eta 5s" */
export function renderProgress(label: string, done: number, total: number, elapsedSeconds: number, width = 24) {
  const fraction = total > 0 ? Math.min(1, done / total) : 1;
  const filled = Math.round(fraction * width);
  const { rate, etaSeconds } = estimate(done, total, elapsedSeconds);
  const percent = `${Math.floor(fraction * 100)}%`.padStart(4);
  const eta =
    done >= total ? `took ${duration(elapsedSeconds)}` : `eta ${etaSeconds === null ? '?' : duration(etaSeconds)}`;
  return `${label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${percent}  ${done}/${total}  ${Math.round(rate)}/s  ${eta}`;
}

/**
 * Progress of a long run on stderr. On a terminal: one bar redrawn in place (at most 10 times a second). Piped
 * or in CI: a plain line every few seconds, so logs stay readable and short runs print nothing at all.
 */
export class Progress {
  private readonly started = performance.now();
  private lastDraw = 0;
  private drawn = false;

  constructor(
    private readonly sink: Sink,
    private readonly label: string,
    private readonly plainEveryMs = 2000,
  ) {}

  update(done: number, total: number): void {
    const now = performance.now();
    const tty = this.sink.isTTY === true;
    if (now - this.lastDraw < (tty ? 100 : this.plainEveryMs) || (!tty && now - this.started < this.plainEveryMs))
      return;
    this.lastDraw = now;
    this.draw(done, total, tty);
  }

  /** The final state: the bar completed on a terminal, a closing line when plain lines were printed. */
  finish(done: number, total: number): void {
    const tty = this.sink.isTTY === true;
    if (tty || this.drawn) this.draw(done, total, tty);
    if (tty && this.drawn) this.sink.write('\n');
  }

  private draw(done: number, total: number, tty: boolean): void {
    const line = renderProgress(this.label, done, total, (performance.now() - this.started) / 1000);
    this.sink.write(tty ? `\r\u001b[K${line}` : `${line}\n`);
    this.drawn = true;
  }
}
