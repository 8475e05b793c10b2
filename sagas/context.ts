import type { Registry } from 'prom-client';
import type { WriteSide } from '../commands/write-side.js';
import type { Config } from '../runtime/config.js';
import type { Logger } from '../runtime/log.js';
import type { CommandHandler, IsTransient } from './runtime/dispatcher.js';
import type { SagaDefinition } from './runtime/types.js';

/** What the saga process hands each context: the configuration, the write side, logging and metrics. */
export interface SagaEnv {
  readonly config: Config;
  readonly write: WriteSide;
  readonly logger: Logger;
  readonly metrics?: Registry;
}

/** A context's sagas and the commands they emit, as the saga process runs them. */
export interface SagaSet {
  readonly sagas: readonly SagaDefinition<unknown>[];
  /** The context's saga command kinds (`payment.authorize`) and how to perform each. */
  readonly handlers: Readonly<Record<string, CommandHandler>>;
  /** Which of its handlers' failures may succeed on another attempt. */
  readonly isTransient: IsTransient;
}

/** What a bounded context contributes to the saga process (`sagas/<context>/index.ts`). */
export interface SagaContext {
  readonly name: string;
  readonly setup: (env: SagaEnv) => SagaSet;
}
