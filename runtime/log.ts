import { type Logger, pino } from 'pino';

export type { Logger } from 'pino';

/** Structured JSON logs; child loggers carry the correlation id of the request or event at hand. */
export function createLogger(name: string, level = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({ name, level, base: { service: name } });
}
