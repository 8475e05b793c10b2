import type { Knex } from 'knex';
import { versionKey } from '../projections/runtime/tables.js';
import { KindedError } from '../runtime/errors.js';

export class ReadYourWritesTimeout extends KindedError {
  constructor(
    readonly position: number,
    readonly waitedMs: number,
  ) {
    super(
      'timeout',
      'PROJECTION_NOT_CAUGHT_UP',
      `the read model has not reached position ${position} after ${waitedMs} ms; retry shortly`,
      { position, waitedMs },
    );
  }
}

export class UnknownPositionError extends KindedError {
  constructor(readonly position: number) {
    super('invalid', 'UNKNOWN_POSITION', `no event at global position ${position}`);
  }
}

export interface WaitOptions {
  readonly timeoutMs?: number;
  readonly pollMs?: number;
}

/**
 * Read-your-writes: a command answers with the global position of its last event; a query passing
 * `?after=<position>` waits until its projection has applied that event. Kafka partitions advance
 * independently, so "passed position P" is decided per stream: the event at P names its stream and version,
 * and the projection's record of that stream must have reached the version. Events of streams the projection
 * does not consume are passed at once.
 */
export class PositionWaiter {
  constructor(
    private readonly storeDb: Knex,
    private readonly readDb: Knex,
  ) {}

  async waitFor(
    position: number,
    projection: { name: string; version: number; topics: readonly string[] },
    options: WaitOptions = {},
  ): Promise<void> {
    // Positions are JS-safe integers (BIGINT read as a number): anything else names no event, and 1e30 would
    // reach PostgreSQL as a value out of BIGINT's range.
    if (!Number.isSafeInteger(position) || position < 1) throw new UnknownPositionError(position);
    const event = await this.storeDb('events')
      .where('global_position', position)
      .first('stream_id', 'stream_version', 'stream_type');
    if (!event) throw new UnknownPositionError(position);
    if (!projection.topics.includes(event.stream_type as string)) return;
    const key = versionKey(projection.name, projection.version);
    const timeoutMs = options.timeoutMs ?? 5000;
    const started = Date.now();
    for (;;) {
      const row = await this.readDb('projection_streams')
        .where({ projection: key, stream_id: event.stream_id })
        .first('version');
      if (row && (row.version as number) >= (event.stream_version as number)) return;
      const waited = Date.now() - started;
      if (waited >= timeoutMs) throw new ReadYourWritesTimeout(position, waited);
      await new Promise((r) => setTimeout(r, options.pollMs ?? 20));
    }
  }
}
