import { type DestinationStream, type Logger, pino } from 'pino';

export type { Logger } from 'pino';

/**
 * Standard output, written asynchronously: a log call appends to a buffer and returns, and the buffer is written
 * in the background, one write in flight at a time, so under load many lines go out in one write (a synchronous
 * write per line cost the gateway up to a millisecond a request). One destination per process, shared by every
 * logger. Nothing is lost when the process ends, however it exits (a signal's graceful stop ends in
 * `process.exit`, a crash too): pino registers the destination to be flushed synchronously on `exit`
 * (`test/unit/gateway/log-flush.test.ts`). Only a crash of the machine itself can lose the buffer.
 */
let stdout: DestinationStream | null = null;

const destination = (): DestinationStream => {
  stdout ??= pino.destination({ dest: 1, sync: false });
  return stdout;
};

/** Structured JSON logs; child loggers carry the correlation id of the request or event at hand. */
export function createLogger(name: string, level = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({ name, level, base: { service: name } }, destination());
}
