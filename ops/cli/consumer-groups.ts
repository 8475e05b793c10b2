import { type Admin, AssignerProtocol } from 'kafkajs';
import { partitionRanges } from './kafka-read.js';

// The consumer groups of one deployment (its TOPIC_PREFIX) as Kafka's admin API sees them: state, members and
// lag per topic and partition. Read-only.

export type GroupStatus = 'running' | 'rebalancing' | 'stopped' | 'not started' | 'unknown';

export interface PartitionLag {
  readonly topic: string;
  readonly partition: number;
  /** The group's committed offset (the next message it will read); null when it has committed nothing. */
  readonly committedOffset: number | null;
  readonly endOffset: number;
  readonly lag: number;
}

export interface TopicLag {
  readonly topic: string;
  /** Sum of the topic's partitions' lag; null when Kafka could not be asked. */
  readonly lag: number | null;
}

export interface GroupView {
  readonly status: GroupStatus;
  readonly members: number;
  readonly lag: number;
  readonly topics: readonly TopicLag[];
  readonly partitions: readonly PartitionLag[];
}

export const statusOf = (state: string | undefined): GroupStatus => {
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

/** What a consumer group id of this deployment says: a projection version's group or a saga's. */
export interface GroupName {
  readonly kind: 'projection' | 'saga';
  readonly name: string;
  readonly version: number | null;
}

/** `<prefix>projection.<name>.v<N>` and `<prefix>saga.<name>`; null for any other group. */
export function parseGroupId(prefix: string, groupId: string): GroupName | null {
  if (!groupId.startsWith(prefix)) return null;
  const rest = groupId.slice(prefix.length);
  const projection = /^projection\.(.+?)(?:\.v(\d+))?$/.exec(rest);
  if (projection) {
    return { kind: 'projection', name: projection[1]!, version: projection[2] ? Number(projection[2]) : null };
  }
  if (rest.startsWith('saga.') && rest.length > 'saga.'.length) {
    return { kind: 'saga', name: rest.slice('saga.'.length), version: null };
  }
  return null;
}

/**
 * Reads groups' state, members and lag with as few admin calls as it can: the topics and their ends once, then
 * one describe for every group and one offsets fetch per group.
 */
export class GroupReader {
  private topicsPromise: Promise<Set<string>> | null = null;
  private readonly ranges = new Map<string, ReturnType<typeof partitionRanges>>();
  /** Topics asked for that do not exist yet (the relay creates them on the first event). */
  readonly missingTopics = new Set<string>();

  constructor(private readonly admin: Admin) {}

  /** Every group of the deployment: the prefix's `projection.*` and `saga.*` groups. */
  async deploymentGroups(prefix: string): Promise<string[]> {
    const { groups } = await this.admin.listGroups();
    return groups.map((g) => g.groupId).filter((id) => parseGroupId(prefix, id) !== null);
  }

  /**
   * Each group's view; `topics` are the ones it should consume (a projection's), to which are added those it has
   * committed offsets on and those its members subscribe to.
   */
  async views(groups: ReadonlyMap<string, readonly string[]>): Promise<Map<string, GroupView>> {
    const ids = [...groups.keys()];
    const described = ids.length > 0 ? (await this.admin.describeGroups(ids)).groups : [];
    const views = new Map<string, GroupView>();
    for (const id of ids) {
      const group = described.find((g) => g.groupId === id);
      const subscribed = (group?.members ?? []).flatMap((m) => subscriptionsOf(m.memberMetadata));
      const partitions = await this.lagOf(id, [...(groups.get(id) ?? []), ...subscribed]);
      const byTopic = new Map<string, number>();
      for (const p of partitions) byTopic.set(p.topic, (byTopic.get(p.topic) ?? 0) + p.lag);
      views.set(id, {
        status: statusOf(group?.state),
        members: group?.members.length ?? 0,
        lag: partitions.reduce((n, p) => n + p.lag, 0),
        topics: [...byTopic].map(([topic, lag]) => ({ topic, lag })),
        partitions,
      });
    }
    return views;
  }

  private existingTopics(): Promise<Set<string>> {
    this.topicsPromise ??= this.admin.listTopics().then((t) => new Set(t));
    return this.topicsPromise;
  }

  private rangesOf(topic: string) {
    let ranges = this.ranges.get(topic);
    if (!ranges) {
      ranges = partitionRanges(this.admin, topic);
      this.ranges.set(topic, ranges);
    }
    return ranges;
  }

  private async lagOf(groupId: string, topics: readonly string[]): Promise<PartitionLag[]> {
    const existing = await this.existingTopics();
    const committed = await this.admin.fetchOffsets({ groupId });
    const names = [...new Set([...topics, ...committed.map((t) => t.topic)])].filter((t) => existing.has(t)).sort();
    for (const t of topics) if (!existing.has(t)) this.missingTopics.add(t);
    const partitions: PartitionLag[] = [];
    for (const topic of names) {
      const offsets = committed.find((t) => t.topic === topic)?.partitions ?? [];
      for (const range of await this.rangesOf(topic)) {
        const raw = Number(offsets.find((p) => p.partition === range.partition)?.offset ?? -1);
        const committedOffset = raw >= 0 ? raw : null;
        // Without a commit, a new group starts at the beginning (the runner's default): all of it is lag.
        const lag = Math.max(0, range.high - (committedOffset ?? range.low));
        partitions.push({ topic, partition: range.partition, committedOffset, endOffset: range.high, lag });
      }
    }
    return partitions;
  }
}

/** The topics a member subscribes to, from its join metadata (empty when it cannot be read). */
function subscriptionsOf(metadata: Buffer): string[] {
  try {
    return AssignerProtocol.MemberMetadata.decode(metadata)?.topics ?? [];
  } catch {
    return [];
  }
}

/** Whether an error came from Kafka (kafkajs names its errors KafkaJS…): the broker, not a bug here. */
export const isKafkaError = (error: unknown): boolean =>
  error instanceof Error && (error.name.startsWith('KafkaJS') || (error as { service?: string }).service === 'Kafka');
