import type { Command } from 'commander';
import type { Admin } from 'kafkajs';
import type { Knex } from 'knex';
import type { PostgresProjectionEntry } from '../../../projections/context.js';
import { findProjection, rebuildableProjections } from '../../../projections/contexts.js';
import type { IsolationReport } from '../../../projections/runtime/isolation.js';
import { rebuildPostgresProjection } from '../../../projections/runtime/rebuild.js';
import { ensureRuntimeTables, versionKey } from '../../../projections/runtime/tables.js';
import { activeVersion } from '../../../projections/runtime/versions.js';
import { groupIdOf } from '../../../runtime/consumer/types.js';
import { type ActionContext, action } from '../context.js';
import { CliError } from '../errors.js';
import { partitionRanges } from '../kafka-read.js';
import { nonNegativeInt, positiveInt } from '../options.js';
import { type CliIo, duration, isolatedLines, table } from '../output.js';
import { Progress } from '../progress.js';
import { projectionEnv } from '../projection-env.js';
import { tableExists } from '../sql.js';

export type ProjectionStatus = 'running' | 'rebalancing' | 'stopped' | 'not started' | 'unknown';

export interface PartitionLag {
  readonly topic: string;
  readonly partition: number;
  /** The group's committed offset (the next message it will read); null when it has committed nothing. */
  readonly committedOffset: number | null;
  readonly endOffset: number;
  readonly lag: number;
}

export interface ProjectionInfo {
  readonly name: string;
  /** Whether `projections rebuild` and `replay --to-projection` know it (ops/cli/rebuildable.ts). */
  readonly rebuildable: boolean;
  readonly activeVersion: number;
  /** From the consumer group of the active version: members consuming (running), none (stopped), no group. */
  readonly status: ProjectionStatus;
  readonly consumerGroup: string;
  readonly members: number;
  /** Streams the active version has applied events of (rows of projection_streams). */
  readonly appliedStreams: number;
  /** Sum of the partitions' lag. */
  readonly lag: number;
  readonly partitions: readonly PartitionLag[];
}

export interface ProjectionList {
  readonly projections: readonly ProjectionInfo[];
}

export interface RebuildResult {
  readonly projection: string;
  readonly version: number;
  readonly events: number;
  readonly seconds: number;
  /** Poison events left out of the new version, as the live projector dead-letters them. */
  readonly isolated: IsolationReport;
  /** Whether reads switched to the new version: not when events were left out, unless --accept-isolated. */
  readonly activated: boolean;
  readonly previous: {
    readonly version: number;
    readonly dropped: boolean;
    /** Why the previous version was kept (null when dropped). */
    readonly keptBecause: string | null;
  };
}

const statusOf = (state: string | undefined): ProjectionStatus => {
  switch (state) {
    case 'Stable':
      return 'running';
    case 'PreparingRebalance':
    case 'CompletingRebalance':
      return 'rebalancing';
    case 'Empty':
      return 'stopped';
    case 'Dead':
    case undefined:
      return 'not started';
    default:
      return 'unknown';
  }
};

async function describeGroup(admin: Admin, groupId: string): Promise<{ status: ProjectionStatus; members: number }> {
  const { groups } = await admin.describeGroups([groupId]);
  const group = groups[0];
  return { status: statusOf(group?.state), members: group?.members.length ?? 0 };
}

const hasRuntimeTables = (db: Knex): Promise<boolean> => tableExists(db, 'projection_versions');

/** Names and active versions: the known projections, plus any other the read database has a trace of. */
async function projectionVersions(db: Knex): Promise<Map<string, { version: number; rebuildable: boolean }>> {
  const found = new Map<string, { version: number; rebuildable: boolean }>();
  for (const p of rebuildableProjections) found.set(p.name, { version: p.initialVersion, rebuildable: true });
  if (!(await hasRuntimeTables(db))) return found;
  const checkpoints: { projection: string }[] = await db('projection_checkpoints').distinct('projection');
  for (const { projection } of checkpoints) {
    const at = projection.lastIndexOf('@');
    const name = projection.slice(0, at);
    const version = Number(projection.slice(at + 1));
    const known = found.get(name);
    if (at > 0 && !known) found.set(name, { version, rebuildable: false });
    else if (known && !known.rebuildable) known.version = Math.max(known.version, version);
  }
  const active: { name: string; active_version: number }[] = await db('projection_versions').select();
  for (const row of active) {
    found.set(row.name, { version: row.active_version, rebuildable: findProjection(row.name) !== undefined });
  }
  return found;
}

async function lagOf(ctx: ActionContext, admin: Admin, groupId: string, topics: readonly string[]) {
  const existing = new Set(await admin.listTopics());
  const committed = await admin.fetchOffsets({ groupId });
  const names = [...new Set([...topics, ...committed.map((t) => t.topic)])].filter((t) => existing.has(t)).sort();
  const partitions: PartitionLag[] = [];
  for (const topic of names) {
    const offsets = committed.find((t) => t.topic === topic)?.partitions ?? [];
    for (const range of await partitionRanges(admin, topic)) {
      const raw = Number(offsets.find((p) => p.partition === range.partition)?.offset ?? -1);
      const committedOffset = raw >= 0 ? raw : null;
      // Without a commit, a new group starts at the beginning (the runner's default): all of it is lag.
      const lag = Math.max(0, range.high - (committedOffset ?? range.low));
      partitions.push({ topic, partition: range.partition, committedOffset, endOffset: range.high, lag });
    }
  }
  const missing = topics.filter((t) => !existing.has(t));
  if (missing.length > 0) ctx.out.note(`topic not created yet: ${missing.join(', ')}`);
  return partitions;
}

async function list(ctx: ActionContext): Promise<ProjectionList> {
  const db = await ctx.services.readDb();
  const admin = await ctx.services.admin();
  const prefix = ctx.config.topicPrefix;
  const projections: ProjectionInfo[] = [];
  const runtime = await hasRuntimeTables(db);
  for (const [name, { version, rebuildable }] of await projectionVersions(db)) {
    const groupId = groupIdOf(prefix, { name, version });
    const group = await describeGroup(admin, groupId);
    const topics = (findProjection(name)?.topics ?? []).map((t) => prefix + t);
    const partitions = await lagOf(ctx, admin, groupId, topics);
    const applied = runtime
      ? await db('projection_streams').where('projection', versionKey(name, version)).count({ n: '*' }).first()
      : undefined;
    projections.push({
      name,
      rebuildable,
      activeVersion: version,
      status: group.status,
      consumerGroup: groupId,
      members: group.members,
      appliedStreams: Number(applied?.n ?? 0),
      lag: partitions.reduce((n, p) => n + p.lag, 0),
      partitions,
    });
  }
  return { projections };
}

/** Drops one version's storage, its runtime rows and its consumer group. */
async function dropVersion(ctx: ActionContext, projection: PostgresProjectionEntry, version: number): Promise<void> {
  const db = await ctx.services.readDb();
  const admin = await ctx.services.admin();
  const env = projectionEnv(ctx.services);
  const stillRead = await projection.readsFrom?.(version, env);
  if (stillRead) throw new CliError(`${projection.name} v${version} is still read: ${stillRead}; nothing dropped`);
  const model = await projection.model(version, env);
  await model.dropTables(db);
  const key = versionKey(projection.name, version);
  await db('projection_streams').where('projection', key).delete();
  await db('projection_checkpoints').where('projection', key).delete();
  await admin.deleteGroups([groupIdOf(ctx.config.topicPrefix, { name: projection.name, version })]).catch(() => {
    // No such group (the version never ran live): nothing to delete.
  });
}

function knownProjection(ctx: ActionContext, name: string): PostgresProjectionEntry {
  const projection = findProjection(name);
  if (!projection) {
    ctx.usage(`unknown projection ${name}; rebuildable: ${rebuildableProjections.map((p) => p.name).join(', ')}`);
  }
  return projection;
}

interface RebuildOptions {
  readonly keepOld?: boolean;
  readonly acceptIsolated?: boolean;
  readonly batchSize: number;
  readonly handoverTimeout: number;
}

async function rebuild(
  ctx: ActionContext,
  projection: PostgresProjectionEntry,
  opts: RebuildOptions,
): Promise<RebuildResult> {
  const readDb = await ctx.services.readDb();
  const admin = await ctx.services.admin();
  const env = projectionEnv(ctx.services);
  const prefix = ctx.config.topicPrefix;
  await ensureRuntimeTables(readDb);
  const previous = await activeVersion(readDb, projection.name, projection.initialVersion);
  const version = previous + 1;
  const next = await describeGroup(admin, groupIdOf(prefix, { name: projection.name, version }));
  if (next.members > 0) {
    throw new CliError(`${projection.name} v${version} is being consumed by a running process: stop it first`);
  }
  const progress = new Progress(ctx.io.stderr, `rebuild ${projection.name} v${version}`);
  let last = { read: 0, total: 0 };
  const result = await rebuildPostgresProjection({
    store: await ctx.services.store(),
    readDb,
    codec: await ctx.services.codec(),
    model: await projection.model(version, env),
    topicPrefix: prefix,
    admin,
    batchSize: opts.batchSize,
    acceptIsolated: opts.acceptIsolated === true,
    // Storage the version switch does not cover (a search alias) moves first: if that fails, nothing switched.
    beforeActivate: () => projection.activated?.(version, env) ?? Promise.resolve(),
    onProgress: (p) => {
      last = { read: p.read, total: p.total };
      progress.update(p.read, p.total);
    },
  });
  progress.finish(last.read, last.total);

  let keptBecause: string | null = null;
  if (!result.activated) {
    keptBecause = `v${version} left ${result.isolated.count} event(s) out and reads stay on v${previous}`;
  } else if (opts.keepOld) {
    keptBecause = '--keep-old';
  } else {
    // Running projectors follow projection_versions (every few seconds) and leave the old version's group; wait
    // for that hand-over, since a projector still consuming the old version would fail on its dropped tables.
    const oldGroup = groupIdOf(prefix, { name: projection.name, version: previous });
    const deadline = Date.now() + opts.handoverTimeout * 1000;
    let old = await describeGroup(admin, oldGroup);
    while (old.members > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 500));
      old = await describeGroup(admin, oldGroup);
    }
    if (old.members > 0) keptBecause = `its consumer group still has ${old.members} member(s)`;
  }
  if (keptBecause === null) await dropVersion(ctx, projection, previous);
  else if (result.activated && keptBecause !== '--keep-old') {
    ctx.out.note(
      `projectors still consume ${projection.name} v${previous} after ${opts.handoverTimeout} s (running ones switch ` +
        `to v${version} within seconds; restart older ones). Reads use v${version} now. Then run: ` +
        `ledger projections drop ${projection.name} ${previous}`,
    );
  }
  return {
    projection: projection.name,
    version,
    events: result.events,
    seconds: Math.round(result.seconds * 1000) / 1000,
    isolated: result.isolated,
    activated: result.activated,
    previous: { version: previous, dropped: keptBecause === null, keptBecause },
  };
}

export function registerProjections(program: Command, io: CliIo): void {
  const projections = program.command('projections').description('projection versions, lag, rebuilds');

  projections
    .command('list')
    .description('each projection: active version, consumer group status, lag per partition, streams applied')
    .action(
      action(io, async (ctx) => {
        ctx.out.result(await list(ctx), (r) =>
          r.projections
            .map((p) => {
              const head = `${p.name} v${p.activeVersion}  ${p.status}${p.members > 0 ? ` (${p.members} member(s))` : ''}  lag ${p.lag}  streams applied ${p.appliedStreams}${p.rebuildable ? '' : '  (not rebuildable)'}`;
              if (p.partitions.length === 0) return `${head}\n  group ${p.consumerGroup}: no partitions`;
              const rows = p.partitions.map((x) => [
                x.topic,
                String(x.partition),
                x.committedOffset === null ? '-' : String(x.committedOffset),
                String(x.endOffset),
                String(x.lag),
              ]);
              const lines = table(['TOPIC', 'PARTITION', 'COMMITTED', 'END', 'LAG'], rows).split('\n');
              return [head, `  group ${p.consumerGroup}`, ...lines.map((l) => `  ${l}`)].join('\n');
            })
            .join('\n\n'),
        );
      }),
    );

  projections
    .command('rebuild')
    .description(
      'build the next version from the event store beside the live one, switch reads to it, drop the old one',
    )
    .argument('<name>', `the projection (${rebuildableProjections.map((p) => p.name).join(', ')})`)
    .option('--keep-old', 'keep the previous version (drop it later with `projections drop`)')
    .option('--batch-size <n>', 'events per transaction', positiveInt, 5000)
    .option('--accept-isolated', 'switch reads even if poison events had to be left out of the new version')
    .option(
      '--handover-timeout <seconds>',
      'how long to wait for projectors to leave the old version',
      nonNegativeInt,
      20,
    )
    .action(
      action(io, async (ctx, name: string, opts: RebuildOptions) => {
        const result = await rebuild(ctx, knownProjection(ctx, name), opts);
        ctx.out.result(result, (r) =>
          [
            `${r.projection}: v${r.version} built from ${r.events} events in ${duration(r.seconds)}, ` +
              (r.activated ? 'reads switched to it' : 'reads NOT switched to it'),
            r.previous.dropped
              ? `v${r.previous.version} dropped`
              : `v${r.previous.version} kept (${r.previous.keptBecause})`,
            ...isolatedLines(r.isolated),
          ].join('\n'),
        );
        if (!result.activated) {
          // The result is on stdout all the same; the exit code tells a script the switch did not happen.
          throw new CliError(
            `${result.isolated.count} event(s) were left out of ${result.projection} v${result.version}: reads stay on ` +
              `v${result.previous.version}. If live dead-letters them too (ledger dlq list), run again with --accept-isolated`,
          );
        }
      }),
    );

  projections
    .command('drop')
    .description('drop a version that reads no longer use (its tables, checkpoints and consumer group)')
    .argument('<name>', 'the projection')
    .argument('<version>', 'the version to drop', positiveInt)
    .action(
      action(io, async (ctx, name: string, version: number) => {
        const projection = knownProjection(ctx, name);
        const db = await ctx.services.readDb();
        await ensureRuntimeTables(db);
        if (version === (await activeVersion(db, name, projection.initialVersion))) {
          throw new CliError(`v${version} is the active version of ${name}: rebuild first`);
        }
        const group = await describeGroup(
          await ctx.services.admin(),
          groupIdOf(ctx.config.topicPrefix, { name, version }),
        );
        if (group.members > 0) throw new CliError(`${name} v${version} is still being consumed: stop those processes`);
        await dropVersion(ctx, projection, version);
        ctx.out.result({ projection: name, version, dropped: true }, () => `${name} v${version} dropped`);
      }),
    );
}
