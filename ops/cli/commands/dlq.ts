import type { Command } from 'commander';
import type { IHeaders, KafkaMessage } from 'kafkajs';
import { type ActionContext, action } from '../context.js';
import { CliError } from '../errors.js';
import { headerText, partitionRanges, readToEnd, readTopics, withPrefix } from '../kafka-read.js';
import { collect, nonNegativeInt } from '../options.js';
import { type CliIo, table } from '../output.js';

/** A dead letter (the `--json` shape of `dlq list`); the dlq-* headers are those of the projection runner. */
export interface DeadLetter {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly key: string | null;
  readonly timestamp: string;
  readonly eventId: string | null;
  readonly eventType: string | null;
  readonly reason: string | null;
  readonly sourceTopic: string | null;
  readonly sourcePartition: number | null;
  readonly sourceOffset: string | null;
  readonly consumer: string | null;
  readonly deadLetteredAt: string | null;
  readonly headers: Readonly<Record<string, string>>;
}

export interface DeadLetterList {
  readonly topics: readonly string[];
  readonly messages: readonly DeadLetter[];
  readonly count: number;
  /** False when reading stopped at the time limit before every partition's end. */
  readonly complete: boolean;
}

export interface RetryResult {
  readonly dlqTopic: string;
  readonly partition: number;
  readonly offset: string;
  readonly sourceTopic: string;
  readonly key: string | null;
  readonly eventId: string | null;
  readonly dryRun: boolean;
  readonly republished: boolean;
}

const DLQ_MARK = '.dlq.';

function deadLetter(topic: string, partition: number, message: KafkaMessage): DeadLetter {
  const h = headerText(message.headers);
  const sourcePartition = h['dlq-source-partition'];
  return {
    topic,
    partition,
    offset: message.offset,
    key: message.key?.toString() ?? null,
    timestamp: new Date(Number(message.timestamp)).toISOString(),
    eventId: h['event-id'] ?? null,
    eventType: h['event-type'] ?? null,
    reason: h['dlq-reason'] ?? null,
    sourceTopic: h['dlq-source-topic'] ?? null,
    sourcePartition: sourcePartition !== undefined && /^\d+$/.test(sourcePartition) ? Number(sourcePartition) : null,
    sourceOffset: h['dlq-source-offset'] ?? null,
    consumer: h['dlq-consumer'] ?? null,
    deadLetteredAt: h['dlq-at'] ?? null,
    headers: h,
  };
}

async function dlqTopics(ctx: ActionContext, wanted: readonly string[] | undefined): Promise<string[]> {
  const admin = await ctx.services.admin();
  const existing = await admin.listTopics();
  if (wanted) {
    const names = wanted.map((t) => withPrefix(ctx.config.topicPrefix, t));
    const missing = names.filter((t) => !existing.includes(t));
    if (missing.length > 0) throw new CliError(`no such topic: ${missing.join(', ')}`);
    return names;
  }
  return existing.filter((t) => t.startsWith(ctx.config.topicPrefix) && t.includes(DLQ_MARK)).sort();
}

/** The original message's headers, without the ones the dead-lettering added. */
const originalHeaders = (headers: IHeaders | undefined): IHeaders =>
  Object.fromEntries(Object.entries(headers ?? {}).filter(([name]) => !name.startsWith('dlq-')));

async function retry(
  ctx: ActionContext,
  topicArg: string,
  offset: number,
  opts: { partition?: number; dryRun?: boolean },
): Promise<RetryResult> {
  const topic = withPrefix(ctx.config.topicPrefix, topicArg);
  if (!topic.includes(DLQ_MARK)) ctx.usage(`${topic} is not a dead-letter topic (<topic>.dlq.<consumer>)`);
  const admin = await ctx.services.admin();
  if (!(await admin.listTopics()).includes(topic)) throw new CliError(`no such topic: ${topic}`);
  const ranges = await partitionRanges(admin, topic);
  if (opts.partition === undefined && ranges.length > 1) {
    ctx.usage(`${topic} has ${ranges.length} partitions: pass --partition (see ledger dlq list)`);
  }
  const partition = opts.partition ?? ranges[0]?.partition ?? 0;
  const range = ranges.find((r) => r.partition === partition);
  if (!range) throw new CliError(`${topic} has no partition ${partition}`);
  if (offset < range.low || offset >= range.high) {
    throw new CliError(
      `${topic}/${partition} has no message at offset ${offset} (offsets ${range.low}..${range.high - 1})`,
    );
  }
  let found: KafkaMessage | null = null;
  await readTopics(ctx.services, 'dlq-retry', {
    topics: [topic],
    fromBeginning: true,
    timeoutMs: 30_000,
    onMessage: (m) => {
      if (m.partition !== partition) return false;
      if (Number(m.message.offset) === offset) found = m.message;
      return Number(m.message.offset) >= offset;
    },
  });
  const message = found as KafkaMessage | null;
  if (!message) throw new CliError(`could not read ${topic}/${partition} at offset ${offset} within 30 s`);
  const letter = deadLetter(topic, partition, message);
  if (!letter.sourceTopic) throw new CliError(`the message has no dlq-source-topic header: its source is unknown`);
  const result = {
    dlqTopic: topic,
    partition,
    offset: message.offset,
    sourceTopic: letter.sourceTopic,
    key: letter.key,
    eventId: letter.eventId,
    dryRun: opts.dryRun === true,
  };
  if (opts.dryRun) return { ...result, republished: false };
  const producer = await ctx.services.producer();
  await producer.send({
    topic: letter.sourceTopic,
    acks: -1,
    messages: [{ key: message.key, value: message.value, headers: originalHeaders(message.headers) }],
  });
  return { ...result, republished: true };
}

export function registerDlq(program: Command, io: CliIo): void {
  const dlq = program.command('dlq').description('dead-letter topics (<topic>.dlq.<consumer>)');

  dlq
    .command('list')
    .description('messages on the dead-letter topics with their dlq-reason headers')
    .option('--topic <topic>', 'a dead-letter topic, without TOPIC_PREFIX (repeatable; default: all)', collect)
    .action(
      action(io, async (ctx, opts: { topic?: string[] }) => {
        const topics = await dlqTopics(ctx, opts.topic);
        const messages: DeadLetter[] = [];
        const stopped =
          topics.length === 0
            ? 'done'
            : await readToEnd(ctx.services, 'dlq-list', topics, (m) =>
                messages.push(deadLetter(m.topic, m.partition, m.message)),
              );
        const result: DeadLetterList = { topics, messages, count: messages.length, complete: stopped === 'done' };
        if (!result.complete) ctx.out.note('stopped at the time limit: the list may be incomplete');
        ctx.out.result(result, (r) => {
          if (r.topics.length === 0) return 'no dead-letter topics';
          if (r.count === 0) return `no dead letters on ${r.topics.join(', ')}`;
          return table(
            ['TOPIC', 'PARTITION', 'OFFSET', 'EVENT', 'TYPE', 'SOURCE', 'REASON'],
            r.messages.map((m) => [
              m.topic,
              String(m.partition),
              m.offset,
              m.eventId ?? '-',
              m.eventType ?? '-',
              m.sourceTopic ? `${m.sourceTopic}/${m.sourcePartition ?? '?'}@${m.sourceOffset ?? '?'}` : '-',
              m.reason ?? '-',
            ]),
          );
        });
      }),
    );

  dlq
    .command('retry')
    .description('publish a dead letter again to its source topic (from its dlq-source-topic header)')
    .argument('<dlqTopic>', 'the dead-letter topic, without TOPIC_PREFIX')
    .argument('<offset>', 'the offset of the message (see dlq list)', nonNegativeInt)
    .option('--partition <n>', 'its partition (required when the topic has several)', nonNegativeInt)
    .option('--dry-run', 'show what would be re-published and publish nothing')
    .action(
      action(io, async (ctx, topic: string, offset: number, opts: { partition?: number; dryRun?: boolean }) => {
        const result = await retry(ctx, topic, offset, opts);
        ctx.out.result(
          result,
          (r) =>
            `${r.dlqTopic}/${r.partition}@${r.offset} (event ${r.eventId ?? '?'}, key ${r.key ?? '-'}) ` +
            `${r.dryRun ? 'would be re-published' : 're-published'} to ${r.sourceTopic}`,
        );
      }),
    );
}
