import { type Command, InvalidArgumentError } from 'commander';
import { topicsOf } from '../../../schemas/catalog.js';
import { type ActionContext, action } from '../context.js';
import { CliError } from '../errors.js';
import { headerText, readTopics, type StopReason, type TopicMessage, withPrefix } from '../kafka-read.js';
import { collect, positiveInt, positiveSeconds } from '../options.js';
import { brief, type CliIo, toJson } from '../output.js';
import { type EventRow, type EventView, renderEvent, toRecorded, viewOf } from '../recorded.js';

/** One Kafka message of the event contract, decoded (the `--json`/`--ndjson` shape of `events tail`). */
export interface TailedEvent {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly key: string | null;
  readonly timestamp: string;
  readonly eventId: string | null;
  readonly eventType: string | null;
  readonly streamId: string | null;
  readonly streamVersion: number | null;
  readonly globalPosition: number | null;
  readonly recordedAt: string | null;
  readonly correlationId: string | null;
  readonly headers: Readonly<Record<string, string>>;
  readonly data: Readonly<Record<string, unknown>> | null;
  readonly decodeError: string | null;
}

export interface TailResult {
  readonly events: readonly TailedEvent[];
  readonly count: number;
  readonly stoppedBy: StopReason;
}

export interface StoredEventDetail extends EventView {
  /** The topic the relay publishes it to. */
  readonly topic: string;
  /** False while the event still waits in the outbox. */
  readonly published: boolean;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function eventIdArgument(value: string): string {
  if (!UUID.test(value)) throw new InvalidArgumentError('expected an event id (a UUID)');
  return value.toLowerCase();
}

const numberOrNull = (text: string | undefined): number | null =>
  text !== undefined && /^\d+$/.test(text) ? Number(text) : null;

async function decodeMessage(ctx: ActionContext, { topic, partition, message }: TopicMessage): Promise<TailedEvent> {
  const headers = headerText(message.headers);
  let data: Readonly<Record<string, unknown>> | null = null;
  let decodeError: string | null = null;
  let eventType = headers['event-type'] ?? null;
  if (message.value) {
    try {
      const decoded = await (await ctx.services.codec()).decode(message.value);
      data = decoded.data;
      eventType = decoded.eventType;
    } catch (error) {
      decodeError = (error as Error).message;
    }
  } else {
    decodeError = 'message has no value';
  }
  return {
    topic,
    partition,
    offset: message.offset,
    key: message.key?.toString() ?? null,
    timestamp: new Date(Number(message.timestamp)).toISOString(),
    eventId: headers['event-id'] ?? null,
    eventType,
    streamId: headers['stream-id'] ?? message.key?.toString() ?? null,
    streamVersion: numberOrNull(headers['stream-version']),
    globalPosition: numberOrNull(headers['global-position']),
    recordedAt: headers['recorded-at'] ?? null,
    correlationId: headers['correlation-id'] ?? null,
    headers,
    data,
    decodeError,
  };
}

const tailLine = (e: TailedEvent): string =>
  [
    e.recordedAt ?? e.timestamp,
    `${e.topic}/${e.partition}@${e.offset}`,
    e.eventType ?? '?',
    `${e.streamId ?? '?'} v${e.streamVersion ?? '?'}`,
    `pos ${e.globalPosition ?? '?'}`,
    e.data ? brief(e.data) : `(undecodable: ${e.decodeError})`,
  ].join('  ');

interface TailOptions {
  topic?: string[];
  fromBeginning?: boolean;
  limit?: number;
  timeout?: number;
  ndjson?: boolean;
}

export function registerEvents(program: Command, io: CliIo): void {
  const events = program.command('events').description('follow the Kafka topics, show one stored event');

  events
    .command('tail')
    .description('follow topics, decoded through the codec, one line per event; stops at --limit, --timeout or Ctrl-C')
    .option(
      '--topic <topic>',
      'a topic, without TOPIC_PREFIX (repeatable; default: every topic of the catalog)',
      collect,
    )
    .option('--from-beginning', 'start at the beginning of the topics instead of their end')
    .option('--limit <n>', 'stop after this many events', positiveInt)
    .option('--timeout <seconds>', 'stop after this long', positiveSeconds)
    .option('--ndjson', 'one JSON object per event as it arrives (instead of one document at the end with --json)')
    .action(
      action(io, async (ctx, opts: TailOptions) => {
        const admin = await ctx.services.admin();
        await ctx.services.codec(); // PostgreSQL holds the writer schemas: report it down now, not per message
        const existing = new Set(await admin.listTopics());
        const wanted = (opts.topic ?? topicsOf()).map((t) => withPrefix(ctx.config.topicPrefix, t));
        const missing = wanted.filter((t) => !existing.has(t));
        const topics = wanted.filter((t) => existing.has(t));
        if (opts.topic && missing.length > 0) throw new CliError(`no such topic: ${missing.join(', ')}`);
        if (missing.length > 0) ctx.out.note(`not created yet, skipped: ${missing.join(', ')}`);
        if (topics.length === 0) throw new CliError('none of the topics exists yet (the relay creates them)');

        const collected: TailedEvent[] = [];
        const abort = new AbortController();
        const onSignal = () => abort.abort();
        process.once('SIGINT', onSignal);
        process.once('SIGTERM', onSignal);
        let count = 0;
        let stoppedBy: StopReason;
        try {
          stoppedBy = await readTopics(ctx.services, 'tail', {
            topics,
            fromBeginning: opts.fromBeginning === true,
            timeoutMs: opts.timeout === undefined ? undefined : opts.timeout * 1000,
            signal: abort.signal,
            onMessage: async (m) => {
              const event = await decodeMessage(ctx, m);
              count++;
              if (opts.ndjson) ctx.out.line(JSON.stringify(toJson(event)));
              else if (ctx.out.json) collected.push(event);
              else ctx.out.line(tailLine(event));
              return opts.limit !== undefined && count >= opts.limit;
            },
          });
        } finally {
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
        }
        if (stoppedBy === 'done') stoppedBy = 'limit';
        if (opts.ndjson) return;
        if (ctx.out.json) {
          const result: TailResult = { events: collected, count, stoppedBy };
          ctx.out.result(result, () => '');
        } else {
          ctx.out.note(`${count} event${count === 1 ? '' : 's'} (stopped by ${stoppedBy})`);
        }
      }),
    );

  events
    .command('show')
    .description('one stored event, decoded, with its envelope and whether the relay has published it')
    .argument('<eventId>', 'the event id (a UUID, as in the event-id header)', eventIdArgument)
    .action(
      action(io, async (ctx, eventId: string) => {
        const db = await ctx.services.storeDb();
        const row: EventRow | undefined = await db('events').where({ event_id: eventId }).first();
        if (!row) throw new CliError(`event ${eventId} not found`);
        const pending = await db('outbox').where({ global_position: row.global_position }).first('global_position');
        const view = await viewOf(await ctx.services.codec(), toRecorded(row));
        const result: StoredEventDetail = {
          ...view,
          topic: ctx.config.topicPrefix + row.stream_type,
          published: !pending,
        };
        ctx.out.result(result, (r) =>
          [
            `stream ${r.streamId} (${r.streamType}) → ${r.topic}, ${r.published ? 'published' : 'waiting in the outbox'}`,
            renderEvent(r),
          ].join('\n'),
        );
      }),
    );
}
