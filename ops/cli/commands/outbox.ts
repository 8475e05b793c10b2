import type { Command } from 'commander';
import { action } from '../context.js';
import { type CliIo, duration, table } from '../output.js';

export interface OutboxStatus {
  /** Events appended but not yet published by a relay. */
  readonly unpublished: number;
  /** Age of the oldest of them in seconds; 0 when none (as the relay's Prometheus gauge). */
  readonly oldestAgeSeconds: number;
  /** Shards with unpublished events (a shard is drained by one relay at a time). */
  readonly shards: readonly {
    readonly shard: number;
    readonly unpublished: number;
    readonly oldestAgeSeconds: number;
  }[];
  readonly topics: readonly { readonly topic: string; readonly unpublished: number }[];
}

export function registerOutbox(program: Command, io: CliIo): void {
  const outbox = program.command('outbox').description('what the relay has not published yet');

  outbox
    .command('status')
    .description('unpublished count, oldest age, per shard and per topic')
    .action(
      action(io, async (ctx) => {
        const db = await ctx.services.storeDb();
        const age = 'coalesce(extract(epoch FROM clock_timestamp() - min(created_at)), 0)::float';
        const shards: { shard: number; n: number; age: number }[] = (
          await db.raw(`SELECT shard, count(*)::int AS n, ${age} AS age FROM outbox GROUP BY shard ORDER BY shard`)
        ).rows;
        const topics: { topic: string; n: number }[] = (
          await db.raw('SELECT topic, count(*)::int AS n FROM outbox GROUP BY topic ORDER BY topic')
        ).rows;
        const result: OutboxStatus = {
          unpublished: shards.reduce((n, s) => n + s.n, 0),
          oldestAgeSeconds: Math.max(0, ...shards.map((s) => s.age)),
          shards: shards.map((s) => ({ shard: s.shard, unpublished: s.n, oldestAgeSeconds: s.age })),
          topics: topics.map((t) => ({ topic: t.topic, unpublished: t.n })),
        };
        ctx.out.result(result, (r) => {
          if (r.unpublished === 0) return 'outbox empty: every event is published';
          return [
            `${r.unpublished} unpublished, oldest ${duration(r.oldestAgeSeconds)} old`,
            '',
            table(
              ['SHARD', 'UNPUBLISHED', 'OLDEST'],
              r.shards.map((s) => [String(s.shard), String(s.unpublished), duration(s.oldestAgeSeconds)]),
            ),
            '',
            table(
              ['TOPIC', 'UNPUBLISHED'],
              r.topics.map((t) => [t.topic, String(t.unpublished)]),
            ),
          ].join('\n');
        });
      }),
    );
}
