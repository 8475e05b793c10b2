import type { Command } from 'commander';
import type { Message } from 'kafkajs';
import { headersOf } from '../../../commands/relay/outbox-relay.js';
import { findPostgresProjection, postgresProjections } from '../../../projections/contexts.js';
import { decodeEach, type IsolationReport, PoisonIsolator } from '../../../projections/runtime/isolation.js';
import { applyInTransaction } from '../../../projections/runtime/postgres.js';
import { ensureRuntimeTables, versionKey } from '../../../projections/runtime/tables.js';
import { activeVersion } from '../../../projections/runtime/versions.js';
import { type ActionContext, action } from '../context.js';
import { CliError } from '../errors.js';
import { isoTime, nonNegativeInt, positiveInt } from '../options.js';
import { type CliIo, isolatedLines, table } from '../output.js';
import { Progress } from '../progress.js';
import { projectionEnv } from '../projection-env.js';
import { type EventRow, toRecorded } from '../recorded.js';
import {
  type EventSelector,
  type SelectionSummary,
  selectEvents,
  selectedStreamTypes,
  summarize,
} from '../selection.js';
import { tableExists } from '../sql.js';

interface ReplayOptions {
  stream?: string;
  type?: string;
  fromPosition?: number;
  toPosition?: number;
  fromTime?: Date;
  toTime?: Date;
  all?: boolean;
  toProjection?: string;
  republish?: boolean;
  dryRun?: boolean;
  batchSize: number;
}

export type ReplayTarget =
  | { readonly kind: 'projection'; readonly projection: string; readonly version: number }
  | { readonly kind: 'republish'; readonly topics: readonly string[] }
  | null;

export interface ReplayResult {
  readonly dryRun: boolean;
  readonly target: ReplayTarget;
  /** Every stored event the selectors match. */
  readonly selected: SelectionSummary;
  /** Projection target: events applied now (with --dry-run: that would be). */
  readonly applied: number;
  /** Projection target: events the projection had already applied (idempotence), left alone. */
  readonly skipped: number;
  /** Projection target: selected events of stream types the projection does not consume. */
  readonly ignored: number;
  /** Projection target: poison events left out (undecodable or refused), with their streams' later events. */
  readonly isolated: IsolationReport;
  /** Republish target: events sent to Kafka (with --dry-run: 0; `selected.count` would be). */
  readonly republished: number;
}

function selectorOf(ctx: ActionContext, opts: ReplayOptions): EventSelector {
  const selector: EventSelector = {
    streamId: opts.stream,
    eventType: opts.type,
    fromPosition: opts.fromPosition,
    toPosition: opts.toPosition,
    fromTime: opts.fromTime,
    toTime: opts.toTime,
  };
  const chosen = Object.values(selector).some((v) => v !== undefined);
  if (!chosen && !opts.all)
    ctx.usage('choose events: --stream, --type, --from-/--to-position, --from-/--to-time, or --all');
  if (chosen && opts.all) ctx.usage('--all cannot be combined with other selectors');
  if (opts.fromPosition !== undefined && opts.toPosition !== undefined && opts.fromPosition > opts.toPosition) {
    ctx.usage('--from-position is after --to-position');
  }
  if (opts.fromTime && opts.toTime && opts.fromTime.getTime() >= opts.toTime.getTime()) {
    ctx.usage('--from-time must be before --to-time');
  }
  if (opts.toProjection !== undefined && opts.republish) ctx.usage('choose one target: --to-projection or --republish');
  if (opts.toProjection !== undefined && !findPostgresProjection(opts.toProjection)) {
    ctx.usage(`unknown projection ${opts.toProjection}; known: ${postgresProjections.map((p) => p.name).join(', ')}`);
  }
  if (opts.toProjection === undefined && !opts.republish && !opts.dryRun) {
    ctx.usage('choose a target: --to-projection <name> or --republish (or look first with --dry-run)');
  }
  return selector;
}

/** Counts what applyInTransaction would skip: events at or below the stream version the projection has. */
async function wouldSkip(ctx: ActionContext, key: string, page: readonly EventRow[]): Promise<number> {
  const db = await ctx.services.readDb();
  const seen: { stream_id: string; version: number }[] = await db('projection_streams')
    .where('projection', key)
    .whereIn('stream_id', [...new Set(page.map((e) => e.stream_id))])
    .select('stream_id', 'version');
  const versions = new Map(seen.map((r) => [r.stream_id, r.version]));
  return page.filter((e) => e.stream_version <= (versions.get(e.stream_id) ?? 0)).length;
}

async function replayIntoProjection(
  ctx: ActionContext,
  name: string,
  base: EventSelector,
  upTo: number,
  opts: ReplayOptions,
  selected: SelectionSummary,
): Promise<ReplayResult> {
  const projection = findPostgresProjection(name)!; // checked by selectorOf
  const storeDb = await ctx.services.storeDb();
  const readDb = await ctx.services.readDb();
  const dryRun = opts.dryRun === true;
  if (!dryRun) await ensureRuntimeTables(readDb);
  const hasRuntime = await tableExists(readDb, 'projection_versions');
  const version = hasRuntime
    ? await activeVersion(readDb, projection.name, projection.initialVersion)
    : projection.initialVersion;
  const model = await projection.model(version, projectionEnv(ctx.services));
  const key = versionKey(projection.name, version);
  if (!dryRun) await model.createTables(readDb); // as the projector's setup does: a no-op when they exist
  const selector: EventSelector = { ...base, streamTypes: projection.topics };
  const eligible = await summarize(storeDb, selector, upTo);
  const codec = await ctx.services.codec();
  const progress = new Progress(ctx.io.stderr, `replay into ${projection.name} v${version}`);
  const isolator = new PoisonIsolator((events) => applyInTransaction(readDb, key, model, events, null));
  let applied = 0;
  let done = 0;
  for await (const page of selectEvents(storeDb, selector, upTo, opts.batchSize)) {
    if (dryRun) {
      applied += hasRuntime ? page.length - (await wouldSkip(ctx, key, page)) : page.length;
    } else {
      const events = await decodeEach(codec, page.map(toRecorded));
      // Idempotent: a stream version the projection has seen is skipped, in the same transaction as the write.
      applied += await isolator.applyBatch(events);
    }
    done += page.length;
    progress.update(done, eligible.count);
  }
  progress.finish(done, eligible.count);
  return {
    dryRun,
    target: { kind: 'projection', projection: projection.name, version },
    selected,
    applied,
    skipped: eligible.count - applied - isolator.count,
    ignored: selected.count - eligible.count,
    isolated: isolator.report(),
    republished: 0,
  };
}

const NONE_ISOLATED: IsolationReport = { count: 0, events: [] };

/** The relay's message for an event: key = stream id, the stored bytes, the contract's headers. */
const messageOf = (row: EventRow): Message => ({
  key: row.stream_id,
  value: row.payload,
  timestamp: String(row.recorded_at.getTime()),
  headers: headersOf(row),
});

async function republish(
  ctx: ActionContext,
  selector: EventSelector,
  upTo: number,
  opts: ReplayOptions,
  selected: SelectionSummary,
): Promise<ReplayResult> {
  const storeDb = await ctx.services.storeDb();
  const topics = (await selectedStreamTypes(storeDb, selector, upTo)).map((t) => ctx.config.topicPrefix + t);
  const result = { dryRun: opts.dryRun === true, target: { kind: 'republish', topics } as const, selected };
  if (opts.dryRun || selected.count === 0)
    return { ...result, applied: 0, skipped: 0, ignored: 0, isolated: NONE_ISOLATED, republished: 0 };
  const admin = await ctx.services.admin();
  const existing = new Set(await admin.listTopics());
  const missing = topics.filter((t) => !existing.has(t));
  if (missing.length > 0) throw new CliError(`no such topic: ${missing.join(', ')} (the relay creates them)`);
  const producer = await ctx.services.producer();
  const progress = new Progress(ctx.io.stderr, 'republish');
  let sent = 0;
  for await (const page of selectEvents(storeDb, selector, upTo, opts.batchSize)) {
    const byTopic = new Map<string, Message[]>();
    for (const row of page) {
      const topic = ctx.config.topicPrefix + row.stream_type;
      byTopic.set(topic, [...(byTopic.get(topic) ?? []), messageOf(row)]);
    }
    await producer.sendBatch({
      acks: -1,
      topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
    });
    sent += page.length;
    progress.update(sent, selected.count);
  }
  progress.finish(sent, selected.count);
  return { ...result, applied: 0, skipped: 0, ignored: 0, isolated: NONE_ISOLATED, republished: sent };
}

function render(r: ReplayResult): string {
  const lines: string[] = [];
  const { count, firstPosition, lastPosition } = r.selected;
  lines.push(
    count === 0
      ? 'selected no events'
      : `selected ${count} event${count === 1 ? '' : 's'}, positions ${firstPosition}..${lastPosition}`,
  );
  const byType = Object.entries(r.selected.byType);
  if (byType.length > 0)
    lines.push(
      ...table(
        ['TYPE', 'EVENTS'],
        byType.map(([t, n]) => [t, String(n)]),
      )
        .split('\n')
        .map((l) => `  ${l}`),
    );
  const would = r.dryRun ? 'would be ' : '';
  if (r.target?.kind === 'projection') {
    lines.push(
      `${r.target.projection} v${r.target.version}: ${r.applied} ${would}applied, ${r.skipped} ${would}skipped (already applied), ${r.ignored} ignored (not consumed by it)`,
    );
    lines.push(...isolatedLines(r.isolated));
  } else if (r.target?.kind === 'republish') {
    const n = r.dryRun ? count : r.republished;
    lines.push(
      `${n} event${n === 1 ? '' : 's'} ${r.dryRun ? 'would be ' : ''}republished to ${r.target.topics.join(', ') || '-'}`,
    );
  }
  if (r.dryRun) lines.push('dry run: nothing changed');
  return lines.join('\n');
}

export function registerReplay(program: Command, io: CliIo): void {
  program
    .command('replay')
    .description('apply stored events to a projection again, or re-publish them to Kafka as the relay did')
    .option('--stream <streamId>', 'events of this stream')
    .option('--type <eventType>', 'events of this type')
    .option('--from-position <n>', 'from this global position (inclusive)', nonNegativeInt)
    .option('--to-position <n>', 'up to this global position (inclusive)', nonNegativeInt)
    .option('--from-time <iso>', 'recorded at or after this time', isoTime)
    .option('--to-time <iso>', 'recorded before this time (exclusive)', isoTime)
    .option('--all', 'every stored event (instead of selectors)')
    .option('--to-projection <name>', 'apply them to the active version of this projection (idempotent)')
    .option('--republish', 'publish them to Kafka again: same key, value bytes and headers as the relay')
    .option('--dry-run', 'show what would happen (counts, positions, types) and change nothing')
    .option('--batch-size <n>', 'events per transaction or Kafka batch', positiveInt, 500)
    .addHelpText(
      'after',
      '\nSelectors combine (all must hold). Examples:\n' +
        '  ledger replay --stream order-42 --to-projection ordering.orders\n' +
        '  ledger replay --from-time 2026-11-25T10:00:00Z --to-time 2026-11-25T11:00:00Z --republish --dry-run',
    )
    .action(
      action(io, async (ctx, opts: ReplayOptions) => {
        const selector = selectorOf(ctx, opts);
        const store = await ctx.services.store();
        const upTo = await store.safeHighWaterMark();
        const selected = await summarize(store.db, selector, upTo);
        let result: ReplayResult;
        if (opts.toProjection !== undefined) {
          result = await replayIntoProjection(ctx, opts.toProjection, selector, upTo, opts, selected);
        } else if (opts.republish) {
          result = await republish(ctx, selector, upTo, opts, selected);
        } else {
          result = {
            dryRun: true,
            target: null,
            selected,
            applied: 0,
            skipped: 0,
            ignored: 0,
            isolated: NONE_ISOLATED,
            republished: 0,
          };
        }
        ctx.out.result(result, render);
      }),
    );
}
