import type { Command } from 'commander';
import { action } from '../context.js';
import { CliError } from '../errors.js';
import { positiveInt } from '../options.js';
import type { CliIo } from '../output.js';
import { table } from '../output.js';
import { type EventView, renderEvent, viewOf } from '../recorded.js';

export interface StreamSummary {
  readonly streamId: string;
  readonly streamType: string;
  readonly version: number;
  readonly updatedAt: string;
}

export interface StreamList {
  readonly streams: readonly StreamSummary[];
  readonly count: number;
  /** More streams match than --limit allowed. */
  readonly truncated: boolean;
}

export interface StreamDetail {
  readonly streamId: string;
  readonly streamType: string;
  readonly version: number;
  readonly events: readonly EventView[];
}

const likePrefix = (prefix: string): string => `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

export function registerStreams(program: Command, io: CliIo): void {
  const streams = program.command('streams').description('list streams and show a stream decoded');

  streams
    .command('list')
    .description('streams from the event store, most recently changed first')
    .option('--type <streamType>', 'only streams of this type (e.g. ordering.order)')
    .option('--prefix <idPrefix>', 'only stream ids starting with this (e.g. order-)')
    .option('--limit <n>', 'at most this many', positiveInt, 50)
    .action(
      action(io, async (ctx, opts: { type?: string; prefix?: string; limit: number }) => {
        const db = await ctx.services.storeDb();
        const query = db('streams')
          .select('stream_id', 'stream_type', 'version', 'updated_at')
          .orderBy([
            { column: 'updated_at', order: 'desc' },
            { column: 'stream_id', order: 'asc' },
          ])
          .limit(opts.limit + 1);
        if (opts.type) query.where('stream_type', opts.type);
        if (opts.prefix) query.whereRaw("stream_id LIKE ? ESCAPE '\\'", [likePrefix(opts.prefix)]);
        const rows: { stream_id: string; stream_type: string; version: number; updated_at: Date }[] = await query;
        const shown = rows.slice(0, opts.limit).map(
          (r): StreamSummary => ({
            streamId: r.stream_id,
            streamType: r.stream_type,
            version: r.version,
            updatedAt: r.updated_at.toISOString(),
          }),
        );
        const result: StreamList = { streams: shown, count: shown.length, truncated: rows.length > opts.limit };
        ctx.out.result(result, (r) => {
          if (r.count === 0) return 'no streams';
          const text = table(
            ['STREAM', 'TYPE', 'VERSION', 'UPDATED'],
            r.streams.map((s) => [s.streamId, s.streamType, String(s.version), s.updatedAt]),
          );
          return r.truncated ? `${text}\n(more: raise --limit)` : text;
        });
      }),
    );

  streams
    .command('show')
    .description("a stream's events, decoded, with metadata, version, position and time recorded")
    .argument('<streamId>', 'the stream, e.g. order-<orderId>')
    .option('--from-version <n>', 'start at this stream version', positiveInt, 1)
    .option('--limit <n>', 'at most this many events', positiveInt, 1000)
    .action(
      action(io, async (ctx, streamId: string, opts: { fromVersion: number; limit: number }) => {
        const db = await ctx.services.storeDb();
        const stream: { stream_type: string; version: number } | undefined = await db('streams')
          .where({ stream_id: streamId })
          .first('stream_type', 'version');
        if (!stream) throw new CliError(`stream ${streamId} not found`);
        const store = await ctx.services.store();
        const codec = await ctx.services.codec();
        const recorded = await store.readStream(streamId, { fromVersion: opts.fromVersion, limit: opts.limit });
        const events: EventView[] = [];
        for (const event of recorded) events.push(await viewOf(codec, event));
        const result: StreamDetail = { streamId, streamType: stream.stream_type, version: stream.version, events };
        ctx.out.result(result, (r) =>
          [`stream ${r.streamId} (${r.streamType}), version ${r.version}`, '', ...r.events.map(renderEvent)].join('\n'),
        );
      }),
    );
}
