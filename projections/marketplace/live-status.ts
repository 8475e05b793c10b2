import type { Redis } from 'ioredis';
import { countDuplicates } from '../../runtime/consumer/observe.js';
import { asContract, type ProjectedEvent, type Projection } from '../../runtime/consumer/types.js';
import type { ApplicationEvent, ContractEvent, EscrowEvent } from '../../schemas/marketplace/events.js';
import { ESCROW_EVENT_TYPES } from './money/step.js';

// Hot status of applications and contracts in Redis, and each party's live stream: the worker sees their
// application change (shortlisted, accepted, not selected) and both parties see their contract move, over SSE
// (`GET /streams/marketplace/me`, gateway/marketplace/live.ts). One Lua script per event, version-guarded, so a
// redelivered event changes nothing and publishes nothing twice.
//
// Keys (under the topic prefix): `mkt:status:<kind>:<id>` hash { status, version, … } for 7 days after the last
// change; `mkt:live:<accountId>` stream of the account's changes (the newest 200, kept 24 hours), each entry's
// `message` the JSON the SSE `status` event carries.

export const LIVE_STATUS_PROJECTION = 'marketplace.live-status';
export const LIVE_STATUS_VERSION = 1;

export const liveStatusKeys = (prefix: string) => ({
  status: (kind: 'application' | 'contract' | 'escrow', id: string) => `${prefix}mkt:status:${kind}:${id}`,
  live: (accountId: string) => `${prefix}mkt:live:${accountId}`,
});

/** The contract's status after the events that change it. */
const CONTRACT_STATUS_AFTER: Partial<Record<ContractEvent['type'], string>> = {
  ContractCreated: 'FUNDING',
  ContractStarted: 'ACTIVE',
  ContractCompleted: 'COMPLETED',
  ContractCancelled: 'CANCELLED',
  ContractNotStarted: 'NOT_STARTED',
};

const STATUS_TTL_SECONDS = 7 * 86_400;
const LIVE_TTL_SECONDS = 86_400;
const LIVE_MAXLEN = 200;

// KEYS[1] the status hash, KEYS[2..] the parties' live streams; ARGV: version, status, message, the hash's TTL,
// the streams' TTL, the streams' length.
const APPLY_LUA = `
local seen = tonumber(redis.call('HGET', KEYS[1], 'version') or '0')
if seen >= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'version', ARGV[1], 'status', ARGV[2], 'message', ARGV[3])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[4]))
for i = 2, #KEYS do
  redis.call('XADD', KEYS[i], 'MAXLEN', '~', tonumber(ARGV[6]), '*', 'message', ARGV[3])
  redis.call('EXPIRE', KEYS[i], tonumber(ARGV[5]))
end
return 1
`;

export interface LiveChange {
  readonly kind: 'application' | 'contract' | 'escrow';
  readonly id: string;
  readonly status: string;
  readonly parties: readonly string[];
  readonly message: Record<string, unknown>;
}

const APPLICATION_STATUS: Record<ApplicationEvent['type'], string> = {
  ApplicationSubmitted: 'SUBMITTED',
  ApplicationWithdrawn: 'WITHDRAWN',
  ApplicationShortlisted: 'SHORTLISTED',
  ApplicationRejected: 'REJECTED',
  ApplicationAccepted: 'ACCEPTED',
  ApplicationNotSelected: 'NOT_SELECTED',
};

/** Pure: what an event shows live, to whom; null for events that change no status (reviews, moderation). */
export function liveChangeOf(event: ProjectedEvent<ApplicationEvent | ContractEvent>): LiveChange | null {
  const base = { version: event.streamVersion, position: event.globalPosition, updatedAt: event.recordedAt };
  if (event.eventType in APPLICATION_STATUS) {
    const d = (event as ProjectedEvent<ApplicationEvent>).data;
    const status = APPLICATION_STATUS[event.eventType as ApplicationEvent['type']];
    return {
      kind: 'application',
      id: d.applicationId,
      status,
      parties: [d.workerId, d.hirerId],
      message: { kind: 'application', applicationId: d.applicationId, jobId: d.jobId, status, ...base },
    };
  }
  const e = event as ProjectedEvent<ContractEvent>;
  if (e.eventType === 'ContractReviewed' || e.eventType === 'ReviewHidden') return null;
  const status = CONTRACT_STATUS_AFTER[e.eventType] ?? 'ACTIVE'; // milestones move only while the contract runs
  const milestoneId = 'milestoneId' in e.data ? e.data.milestoneId : null;
  return {
    kind: 'contract',
    id: e.data.contractId,
    status,
    parties: [e.data.hirerId, e.data.workerId],
    message: { kind: 'contract', contractId: e.data.contractId, status, change: e.eventType, milestoneId, ...base },
  };
}

/** The escrow's status after the events that change it (the others move one milestone's money). */
const ESCROW_STATUS_AFTER: Partial<Record<EscrowEvent['type'], string>> = {
  EscrowOpened: 'OPEN',
  EscrowFundingRequested: 'FUNDING',
  EscrowFundingDeclined: 'FUNDING_DECLINED',
  EscrowFunded: 'FUNDED',
};

/**
 * Pure: what an escrow event shows live on the contract's channel (both parties' streams). Only EscrowOpened names
 * the parties; the projection keeps them with the escrow's status for the events after it (`parties` empty).
 */
export function escrowLiveChangeOf(event: ProjectedEvent<EscrowEvent>): LiveChange {
  const d = event.data;
  const status = ESCROW_STATUS_AFTER[event.eventType] ?? 'FUNDED';
  const milestoneId = 'milestoneId' in d ? d.milestoneId : null;
  const amountMinor = 'amountMinor' in d ? d.amountMinor : 'grossMinor' in d ? d.grossMinor : null;
  return {
    kind: 'escrow',
    id: d.contractId,
    status,
    parties: event.eventType === 'EscrowOpened' ? [event.data.hirerId, event.data.workerId] : [],
    message: {
      kind: 'escrow',
      contractId: d.contractId,
      status,
      change: event.eventType,
      milestoneId,
      amountMinor,
      version: event.streamVersion,
      position: event.globalPosition,
      updatedAt: event.recordedAt,
    },
  };
}

export function liveStatusProjection(redis: Redis, options: { keyPrefix: string; version: number }): Projection {
  const keys = liveStatusKeys(options.keyPrefix);
  const command = `marketplaceLiveStatusV${options.version}`;
  redis.defineCommand(command, { lua: APPLY_LUA });
  const run = (redis as unknown as Record<string, (...args: unknown[]) => Promise<number>>)[command]!.bind(redis);
  return {
    name: LIVE_STATUS_PROJECTION,
    version: options.version,
    topics: ['marketplace.application', 'marketplace.contract', 'marketplace.escrow'],
    setup: async () => {},
    drop: async () => {},
    async applyBatch(events) {
      let duplicates = 0;
      for (const event of asContract<ApplicationEvent | ContractEvent | EscrowEvent>(events)) {
        const change = ESCROW_EVENT_TYPES.has(event.eventType)
          ? escrowLiveChangeOf(event as ProjectedEvent<EscrowEvent>)
          : liveChangeOf(event as ProjectedEvent<ApplicationEvent | ContractEvent>);
        if (!change) continue;
        const statusKey = keys.status(change.kind, change.id);
        // An escrow's parties are named once (EscrowOpened, first on its stream) and kept beside its status.
        const parties =
          change.kind === 'escrow' && change.parties.length === 0
            ? (await redis.hmget(statusKey, 'hirer', 'worker')).filter((p): p is string => p !== null)
            : change.parties;
        const liveKeys = [...new Set(parties)].map(keys.live);
        const applied = await run(
          1 + liveKeys.length,
          keys.status(change.kind, change.id),
          ...liveKeys,
          event.streamVersion,
          change.status,
          JSON.stringify(change.message),
          STATUS_TTL_SECONDS,
          LIVE_TTL_SECONDS,
          LIVE_MAXLEN,
        );
        if (applied === 0) duplicates++;
        else if (change.kind === 'escrow' && change.parties.length === 2) {
          await redis.hset(statusKey, 'hirer', change.parties[0]!, 'worker', change.parties[1]!);
        }
      }
      countDuplicates(duplicates);
    },
  };
}
