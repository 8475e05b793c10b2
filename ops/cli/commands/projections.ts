import type { Command } from 'commander';
import type { Admin } from 'kafkajs';
import type { Knex } from 'knex';
import type { ProjectionEntry } from '../../../projections/context.js';
import {
  allProjections,
  findProjection,
  type RebuildableProjection,
  rebuildableProjections,
} from '../../../projections/contexts.js';
import type { IsolationReport } from '../../../projections/runtime/isolation.js';
import { rebuildProjection } from '../../../projections/runtime/rebuild.js';
import { ensureRuntimeTables, versionKey } from '../../../projections/runtime/tables.js';
import { activeVersion } from '../../../projections/runtime/versions.js';
import { groupIdOf } from '../../../runtime/consumer/types.js';
import {
  GroupReader,
  type GroupStatus,
  type GroupView,
  isKafkaError,
  type PartitionLag,
  parseGroupId,
  statusOf,
  type TopicLag,
} from '../consumer-groups.js';
import { type ActionContext, action } from '../context.js';
import { CliError, firstLine, serviceFailure } from '../errors.js';
import { nonNegativeInt, positiveInt } from '../options.js';
import { type CliIo, duration, isolatedLines, table } from '../output.js';
import { Progress } from '../progress.js';
import { projectionEnv } from '../projection-env.js';
import { tableExists } from '../sql.js';

export type ProjectionStatus = GroupStatus;
export type { PartitionLag, TopicLag };

/** A row of `projection_checkpoints`: the offset of the last message a PostgreSQL read model applied. */
export interface Checkpoint {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly updatedAt: string;
}

export interface ProjectionInfo {
  readonly name: string;
  /** Its storage: `postgres`, `custom` (Redis), or null for one only the read database knows (not in this build). */
  readonly kind: ProjectionEntry['kind'] | null;
  /** Whether `projections rebuild` and `drop` know it. */
  readonly rebuildable: boolean;
  readonly activeVersion: number;
  /** From the consumer group of the active version: members consuming (running), none (stopped), no group. */
  readonly status: ProjectionStatus;
  readonly consumerGroup: string;
  /** Null when Kafka is unreachable. */
  readonly members: number | null;
  /** Streams the active version holds (rows of projection_streams; the Redis status counts its orders); null when unknown. */
  readonly appliedStreams: number | null;
  /** Sum of the partitions' lag; null when Kafka is unreachable. */
  readonly lag: number | null;
  readonly topics: readonly TopicLag[];
  readonly partitions: readonly PartitionLag[];
  /** What the read database recorded of the active version's progress (PostgreSQL read models only). */
  readonly checkpoints: readonly Checkpoint[];
}

export interface ConsumerGroupInfo {
  readonly groupId: string;
  readonly kind: 'projection' | 'saga';
  /** The projection's or the saga's name. */
  readonly name: string;
  /** The projection version it feeds; null for a saga. */
  readonly version: number | null;
  /** Whether it feeds the version reads use; null for a saga. */
  readonly active: boolean | null;
  readonly status: ProjectionStatus;
  readonly members: number;
  readonly lag: number;
  readonly topics: readonly TopicLag[];
  readonly partitions: readonly PartitionLag[];
}

export interface ProjectionList {
  readonly kafka: { readonly reachable: boolean; readonly error: string | null };
  readonly projections: readonly ProjectionInfo[];
  /** Every consumer group of the deployment; null when Kafka is unreachable. */
  readonly consumerGroups: readonly ConsumerGroupInfo[] | null;
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

async function describeGroup(admin: Admin, groupId: string): Promise<{ status: ProjectionStatus; members: number }> {
  const { groups } = await admin.describeGroups([groupId]);
  const group = groups[0];
  return { status: statusOf(group?.state), members: group?.members.length ?? 0 };
}

const hasRuntimeTables = (db: Knex): Promise<boolean> => tableExists(db, 'projection_versions');

interface Known {
  version: number;
  readonly entry: ProjectionEntry | null;
}

/** Names and active versions: every projection of this build, plus any other the read database has a trace of. */
async function projectionVersions(db: Knex, runtime: boolean): Promise<Map<string, Known>> {
  const found = new Map<string, Known>();
  for (const entry of allProjections) found.set(entry.name, { version: entry.initialVersion, entry });
  if (!runtime) return found;
  const checkpoints: { projection: string }[] = await db('projection_checkpoints').distinct('projection');
  for (const { projection } of checkpoints) {
    const at = projection.lastIndexOf('@');
    const name = projection.slice(0, at);
    const version = Number(projection.slice(at + 1));
    const known = found.get(name);
    if (at > 0 && !known) found.set(name, { version, entry: null });
    else if (known && !known.entry) known.version = Math.max(known.version, version);
  }
  const active: { name: string; active_version: number }[] = await db('projection_versions').select();
  for (const row of active) {
    const known = found.get(row.name);
    if (known) known.version = row.active_version;
    else found.set(row.name, { version: row.active_version, entry: null });
  }
  return found;
}

async function checkpointsOf(db: Knex, key: string): Promise<Checkpoint[]> {
  const rows: { topic: string; partition: number; offset: string | number; updated_at: Date }[] = await db(
    'projection_checkpoints',
  )
    .where('projection', key)
    .orderBy(['topic', 'partition'])
    .select('topic', 'partition', 'offset', 'updated_at');
  return rows.map((r) => ({
    topic: r.topic,
    partition: r.partition,
    offset: Number(r.offset),
    updatedAt: r.updated_at.toISOString(),
  }));
}

/** Streams a version holds: the projection's own count when it has one, else its projection_streams rows. */
async function appliedStreamsOf(ctx: ActionContext, db: Knex, runtime: boolean, name: string, version: number) {
  const rebuildable = findProjection(name);
  if (rebuildable?.appliedStreams) {
    try {
      return await rebuildable.appliedStreams(version, projectionEnv(ctx.services));
    } catch (error) {
      ctx.out.note(`${name} v${version}: streams applied unknown (${firstLine(error)})`);
      return null;
    }
  }
  if (!runtime) return 0;
  const row = await db('projection_streams').where('projection', versionKey(name, version)).count({ n: '*' }).first();
  return Number(row?.n ?? 0);
}

/** What Kafka says of the deployment's groups; throws what Kafka threw. */
async function kafkaView(ctx: ActionContext, known: ReadonlyMap<string, Known>) {
  const prefix = ctx.config.topicPrefix;
  const reader = new GroupReader(await ctx.services.admin());
  const wanted = new Map<string, string[]>();
  for (const [name, { version, entry }] of known) {
    wanted.set(
      groupIdOf(prefix, { name, version }),
      (entry?.topics ?? []).map((t) => prefix + t),
    );
  }
  for (const groupId of await reader.deploymentGroups(prefix)) {
    if (wanted.has(groupId)) continue;
    const parsed = parseGroupId(prefix, groupId);
    const entry = parsed?.kind === 'projection' ? known.get(parsed.name)?.entry : undefined;
    wanted.set(
      groupId,
      (entry?.topics ?? []).map((t) => prefix + t),
    );
  }
  return { views: await reader.views(wanted), reader };
}

function missingTopicsNote(ctx: ActionContext, reader: GroupReader): void {
  if (reader.missingTopics.size > 0) {
    ctx.out.note(`topic not created yet: ${[...reader.missingTopics].sort().join(', ')}`);
  }
}

async function list(ctx: ActionContext): Promise<ProjectionList> {
  const db = await ctx.services.readDb();
  const prefix = ctx.config.topicPrefix;
  const runtime = await hasRuntimeTables(db);
  const known = await projectionVersions(db, runtime);

  let views: Map<string, GroupView> | null = null;
  let kafkaError: string | null = null;
  try {
    const seen = await kafkaView(ctx, known);
    views = seen.views;
    missingTopicsNote(ctx, seen.reader);
  } catch (error) {
    // Kafka down is no reason to show nothing: the read database still knows versions and checkpoints.
    if (!isKafkaError(error)) throw error;
    kafkaError = serviceFailure('Kafka', ctx.services.kafkaAddress, error).message;
  }

  const projections: ProjectionInfo[] = [];
  for (const [name, { version, entry }] of known) {
    const groupId = groupIdOf(prefix, { name, version });
    const view = views?.get(groupId);
    const key = versionKey(name, version);
    projections.push({
      name,
      kind: entry?.kind ?? null,
      rebuildable: findProjection(name) !== undefined,
      activeVersion: version,
      status: view?.status ?? 'unknown',
      consumerGroup: groupId,
      members: view?.members ?? null,
      appliedStreams: await appliedStreamsOf(ctx, db, runtime, name, version),
      lag: view?.lag ?? null,
      topics: view?.topics ?? (entry?.topics ?? []).map((t) => ({ topic: prefix + t, lag: null })),
      partitions: view?.partitions ?? [],
      checkpoints: runtime ? await checkpointsOf(db, key) : [],
    });
  }

  const activeGroups = new Set(projections.map((p) => p.consumerGroup));
  const consumerGroups = views
    ? [...views]
        .map(([groupId, view]): ConsumerGroupInfo => {
          const parsed = parseGroupId(prefix, groupId) ?? {
            kind: 'projection' as const,
            name: groupId.slice(prefix.length),
            version: null,
          };
          return {
            groupId,
            kind: parsed.kind,
            name: parsed.name,
            version: parsed.version,
            active: parsed.kind === 'saga' ? null : activeGroups.has(groupId),
            ...view,
          };
        })
        .sort((a, b) => a.groupId.localeCompare(b.groupId))
    : null;
  return { kafka: { reachable: views !== null, error: kafkaError }, projections, consumerGroups };
}

function partitionLines(partitions: readonly PartitionLag[]): string[] {
  const rows = partitions.map((x) => [
    x.topic,
    String(x.partition),
    x.committedOffset === null ? '-' : String(x.committedOffset),
    String(x.endOffset),
    String(x.lag),
  ]);
  return table(['TOPIC', 'PARTITION', 'COMMITTED', 'END', 'LAG'], rows)
    .split('\n')
    .map((l) => `  ${l}`);
}

function renderList(r: ProjectionList): string {
  const blocks = r.projections.map((p) => {
    const members = p.members !== null && p.members > 0 ? ` (${p.members} member(s))` : '';
    const head =
      `${p.name} v${p.activeVersion}  ${p.status}${members}  lag ${p.lag ?? 'unknown'}  ` +
      `streams applied ${p.appliedStreams ?? 'unknown'}${p.kind === 'custom' ? '  (redis)' : ''}` +
      `${p.rebuildable ? '' : '  (not rebuildable)'}`;
    const lines = [head, `  group ${p.consumerGroup}`];
    if (p.partitions.length > 0) lines.push(...partitionLines(p.partitions));
    else if (r.kafka.reachable) lines.push('  no partitions');
    if (!r.kafka.reachable && p.checkpoints.length === 0) lines.push('  no checkpoints in PostgreSQL');
    if (!r.kafka.reachable && p.checkpoints.length > 0) {
      const rows = p.checkpoints.map((c) => [c.topic, String(c.partition), String(c.offset), c.updatedAt]);
      lines.push(
        ...table(['TOPIC', 'PARTITION', 'CHECKPOINT', 'UPDATED'], rows)
          .split('\n')
          .map((l) => `  ${l}`),
      );
    }
    return lines.join('\n');
  });
  if (r.consumerGroups) {
    const rows = r.consumerGroups.map((g) => [
      g.groupId,
      g.kind,
      g.version === null ? '-' : `v${g.version}${g.active ? ' (active)' : ''}`,
      g.status,
      String(g.members),
      String(g.lag),
      g.topics.map((t) => `${t.topic}: ${t.lag}`).join(', ') || '-',
    ]);
    blocks.push(
      `consumer groups:\n${table(['GROUP', 'KIND', 'VERSION', 'STATUS', 'MEMBERS', 'LAG', 'LAG BY TOPIC'], rows)}`,
    );
  } else {
    blocks.push(`consumer groups: unknown (${r.kafka.error}); shown above is what PostgreSQL knows`);
  }
  return blocks.join('\n\n');
}

/** Drops one version's storage, its runtime rows and its consumer group. */
async function dropVersion(ctx: ActionContext, projection: RebuildableProjection, version: number): Promise<void> {
  const admin = await ctx.services.admin();
  const env = projectionEnv(ctx.services);
  const stillRead = await projection.readsFrom?.(version, env);
  if (stillRead) throw new CliError(`${projection.name} v${version} is still read: ${stillRead}; nothing dropped`);
  const target = await projection.target(version, env);
  await target.drop();
  // Whatever the storage, the version's rows in the runtime tables go too (none but stale ones for Redis).
  const db = await ctx.services.readDb();
  const key = versionKey(projection.name, version);
  await db('projection_streams').where('projection', key).delete();
  await db('projection_checkpoints').where('projection', key).delete();
  await admin.deleteGroups([groupIdOf(ctx.config.topicPrefix, { name: projection.name, version })]).catch(() => {
    // No such group (the version never ran live): nothing to delete.
  });
}

function knownProjection(ctx: ActionContext, name: string): RebuildableProjection {
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
  projection: RebuildableProjection,
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
  const result = await rebuildProjection({
    store: await ctx.services.store(),
    readDb,
    codec: await ctx.services.codec(),
    target: await projection.target(version, env),
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
    // for that hand-over, since a projector still consuming the old version would fail on its dropped tables (or,
    // in Redis, recreate keys of the dropped version).
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
        const result = await list(ctx);
        ctx.out.result(result, renderList);
        if (!result.kafka.reachable) {
          // The answer is on stdout all the same; the exit code tells a script that lag and groups are missing.
          throw new CliError(`${result.kafka.error}: consumer groups and lag unknown, shown is what PostgreSQL knows`);
        }
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
