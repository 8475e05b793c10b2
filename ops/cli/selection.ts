import type { Knex } from 'knex';
import type { EventRow } from './recorded.js';

/**
 * Which stored events a replay covers. Every selector given must hold (AND). Positions are inclusive at both
 * ends; times select `from <= recorded_at < to`, so consecutive windows never overlap.
 */
export interface EventSelector {
  readonly streamId?: string;
  readonly eventType?: string;
  readonly fromPosition?: number;
  readonly toPosition?: number;
  readonly fromTime?: Date;
  readonly toTime?: Date;
  /** Only these stream types (a projection's topics); undefined: all. */
  readonly streamTypes?: readonly string[];
}

export interface SelectionSummary {
  readonly count: number;
  readonly firstPosition: number | null;
  readonly lastPosition: number | null;
  readonly byType: Readonly<Record<string, number>>;
}

/**
 * The events table filtered by the selector, up to `upTo`: a position from EventStore.safeHighWaterMark, so
 * a transaction still in flight (whose event would appear later below the last one read) is never half seen.
 */
function filtered(db: Knex, selector: EventSelector, upTo: number): Knex.QueryBuilder {
  const query = db('events').where('global_position', '<=', upTo);
  if (selector.streamId !== undefined) query.andWhere('stream_id', selector.streamId);
  if (selector.eventType !== undefined) query.andWhere('event_type', selector.eventType);
  if (selector.fromPosition !== undefined) query.andWhere('global_position', '>=', selector.fromPosition);
  if (selector.toPosition !== undefined) query.andWhere('global_position', '<=', selector.toPosition);
  if (selector.fromTime !== undefined) query.andWhere('recorded_at', '>=', selector.fromTime);
  if (selector.toTime !== undefined) query.andWhere('recorded_at', '<', selector.toTime);
  if (selector.streamTypes !== undefined) query.whereIn('stream_type', selector.streamTypes);
  return query;
}

export async function summarize(db: Knex, selector: EventSelector, upTo: number): Promise<SelectionSummary> {
  const rows: { event_type: string; n: number; first: number; last: number }[] = await filtered(db, selector, upTo)
    .select('event_type')
    .count({ n: '*' })
    .min({ first: 'global_position' })
    .max({ last: 'global_position' })
    .groupBy('event_type')
    .orderBy('event_type');
  const byType: Record<string, number> = {};
  for (const r of rows) byType[r.event_type] = Number(r.n);
  const firsts = rows.map((r) => Number(r.first));
  const lasts = rows.map((r) => Number(r.last));
  return {
    count: rows.reduce((n, r) => n + Number(r.n), 0),
    firstPosition: firsts.length > 0 ? Math.min(...firsts) : null,
    lastPosition: lasts.length > 0 ? Math.max(...lasts) : null,
    byType,
  };
}

/** The selected events in global order, a page at a time (keyset pagination on the position). */
export async function* selectEvents(
  db: Knex,
  selector: EventSelector,
  upTo: number,
  pageSize = 500,
): AsyncGenerator<EventRow[]> {
  let after = 0;
  for (;;) {
    const page: EventRow[] = await filtered(db, selector, upTo)
      .andWhere('global_position', '>', after)
      .orderBy('global_position', 'asc')
      .limit(pageSize)
      .select(
        'global_position',
        'stream_id',
        'stream_type',
        'stream_version',
        'event_id',
        'event_type',
        'schema_id',
        'payload',
        'metadata',
        'recorded_at',
      );
    if (page.length === 0) return;
    yield page;
    after = page.at(-1)!.global_position;
  }
}

/** The stream types (topics, before the prefix) of the selected events. */
export async function selectedStreamTypes(db: Knex, selector: EventSelector, upTo: number): Promise<string[]> {
  const rows: { stream_type: string }[] = await filtered(db, selector, upTo).distinct('stream_type');
  return rows.map((r) => r.stream_type).sort();
}
