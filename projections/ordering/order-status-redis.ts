import type { ChainableCommander, Redis } from 'ioredis';
import { MalformedMessageError } from '../../runtime/consumer/envelope.js';
import { countDuplicates, countMissingState } from '../../runtime/consumer/observe.js';
import { asContract, type ProjectedEvent, type Projection } from '../../runtime/consumer/types.js';
import type { OrderEvent } from '../../schemas/ordering/events.js';
import { ORDER_STATUSES } from '../../schemas/ordering/vocabulary.js';
import type { RebuildTarget } from '../runtime/rebuild.js';
import { evolveOrderView, type OrderView } from './order-view.js';

export const ORDER_STATUS_PROJECTION = 'ordering.order-status';
/** The version a fresh deployment starts with; a rebuild makes the next one beside it. */
export const ORDER_STATUS_VERSION = 1;
const ORDER_STATUS_TOPICS: readonly string[] = ['ordering.order'];

const STATUSES: readonly string[] = ORDER_STATUSES;

/**
 * One message of the live channel: the contract the gateway's SSE and WebSocket feeds are built on.
 *
 * - `PUBLISH <P>live:orders <json>` for every status change an order goes through (placed → PENDING included),
 *   once per change, in stream order per order. Pub/sub carries no id and keeps nothing: it is for fan-out only.
 * - The same JSON is appended (`XADD … MAXLEN ~ 1000 * message <json>`) to `<P>live:order:<orderId>` and
 *   `<P>live:customer:<customerId>`. The entry id is the SSE event id: a client resuming with `Last-Event-ID`
 *   is served `XRANGE <key> (<id> +` (or `XREAD BLOCK … STREAMS <key> <id>`) and misses nothing. Both streams
 *   expire `liveTtlSeconds` after their last entry; once gone, the current status is in the order's hash.
 *   A rebuild (`ledger projections rebuild ordering.order-status`) publishes nothing on the channel; it appends
 *   to a live stream only what the stream lacks (all of it after Redis lost its data), with entry ids taken from
 *   the events' recorded times, so a client resuming from an id it was sent before is not sent the same news again.
 * - Fields, all always present: `{ orderId, status, version, position, customerId, restaurantId, updatedAt }`;
 *   `version` is the order stream's version, `position` the event store's global position, `updatedAt` the ISO
 *   time the event was recorded. New fields may be added; none will be removed or change meaning.
 */
export interface LiveOrderStatus {
  readonly orderId: string;
  readonly status: string;
  readonly version: number;
  readonly position: number;
  readonly customerId: string;
  readonly restaurantId: string;
  readonly updatedAt: string;
}

/** The hot status of an order, as kept in `<P>ordering:v<N>:order:<orderId>`. */
export interface OrderHotStatus extends LiveOrderStatus {
  readonly totalMinor: number;
  readonly currency: string;
}

/** Keys of one version of the read model; they all carry the version, so two versions live side by side. */
export const orderStatusKeys = (prefix: string, version: number) => {
  const base = `${prefix}ordering:v${version}:`;
  return {
    order: (orderId: string) => `${base}order:${orderId}`,
    counts: `${base}orders-by-status`,
    restaurantCounts: (restaurantId: string) => `${base}restaurant:${restaurantId}:orders-by-status`,
    /** SCAN patterns of every key this version owns (and nothing of another read model or version). */
    patterns: [`${glob(base)}order:*`, `${glob(base)}orders-by-status`, `${glob(base)}restaurant:*:orders-by-status`],
  };
};

/**
 * The live channel and streams. Not versioned: subscribers must not care which projection version feeds them,
 * so a version's drop() leaves them alone, and the script dedupes on the order stream's last entry instead.
 * Hence also: a rebuild's reset() never clears them (a loss already has), and a fresh prefix starts empty.
 */
export const liveKeys = (prefix: string) => ({
  channel: `${prefix}live:orders`,
  order: (orderId: string) => `${prefix}live:order:${orderId}`,
  customer: (customerId: string) => `${prefix}live:customer:${customerId}`,
});

const glob = (text: string): string => text.replace(/[*?[\]\\]/g, '\\$&');

const HASH_FIELDS = [
  'status',
  'version',
  'position',
  'customerId',
  'restaurantId',
  'totalMinor',
  'currency',
  'updatedAt',
] as const;

// One event, atomically. The TypeScript side computes the order's new fields with evolveOrderView from the
// state it read; the script re-checks that state so nothing stale or repeated is written:
//   - streamVersion <= stored version: already applied (redelivery) or older than what is stored → 0, nothing.
//   - stored version ≠ the version the fields were computed from: another consumer moved the order in between
//     (rebalance hand-over) → -1, nothing; the caller re-reads and recomputes.
//   - otherwise the hash is written, and when the status changes the counters move from the STORED status (not
//     one the caller believed), so the counters always equal the number of hashes in each status.
//   - the live message goes out only if the order's live stream has not seen this version yet: that stream is
//     shared by all projection versions, so a rebuild running beside the live version publishes nothing twice.
//   - live mode '1' (the projector): XADD with a server-time id, and PUBLISH. Mode '2' (a rebuild): XADD what the
//     stream lacks with an id from the event's recorded time (or just after the stream's last entry, ids must
//     grow), no PUBLISH: a rebuild is history, not news. Mode '0': too old to be live, no stream touched.
// KEYS: 1 order hash, 2 counts, 3 restaurant counts, 4 live order stream, 5 live customer stream.
// ARGV: 1 version, 2 base version, 3 status, 4 position, 5 customerId, 6 restaurantId, 7 totalMinor,
//       8 currency, 9 updatedAt, 10 live ('1', '2' or '0'), 11 channel, 12 message, 13 max stream length,
//       14 ttl ms, 15 recorded time in ms.
// Returns 0 skipped, -1 conflict, 1 applied, 2 applied with a status change, 3 … and appended to the streams.
const APPLY_LUA = `
local version = tonumber(ARGV[1])
local stored = redis.call('HMGET', KEYS[1], 'version', 'status')
local storedVersion = tonumber(stored[1]) or 0
if version <= storedVersion then return 0 end
if storedVersion ~= tonumber(ARGV[2]) then return -1 end
redis.call('HSET', KEYS[1], 'status', ARGV[3], 'version', ARGV[1], 'position', ARGV[4], 'customerId', ARGV[5],
  'restaurantId', ARGV[6], 'totalMinor', ARGV[7], 'currency', ARGV[8], 'updatedAt', ARGV[9])
local old = stored[2]
if old == ARGV[3] then return 1 end
if old then
  for i = 2, 3 do
    if redis.call('HINCRBY', KEYS[i], old, -1) == 0 then redis.call('HDEL', KEYS[i], old) end
  end
end
redis.call('HINCRBY', KEYS[2], ARGV[3], 1)
redis.call('HINCRBY', KEYS[3], ARGV[3], 1)
if ARGV[10] ~= '1' and ARGV[10] ~= '2' then return 2 end
local last = redis.call('XREVRANGE', KEYS[4], '+', '-', 'COUNT', 1)[1]
if last then
  local fields = last[2]
  for i = 1, #fields, 2 do
    if fields[i] == 'message' and tonumber(cjson.decode(fields[i + 1]).version) >= version then return 2 end
  end
end
local function entryId(key)
  if ARGV[10] == '1' then return '*' end
  local at = tonumber(ARGV[15])
  local top = redis.call('XREVRANGE', key, '+', '-', 'COUNT', 1)[1]
  if top then
    local topMs = tonumber(string.match(top[1], '^(%d+)-'))
    if topMs > at then at = topMs end
  end
  return string.format('%.0f-*', at)
end
redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[13], entryId(KEYS[4]), 'message', ARGV[12])
redis.call('XADD', KEYS[5], 'MAXLEN', '~', ARGV[13], entryId(KEYS[5]), 'message', ARGV[12])
redis.call('PEXPIRE', KEYS[4], ARGV[14])
redis.call('PEXPIRE', KEYS[5], ARGV[14])
if ARGV[10] == '1' then redis.call('PUBLISH', ARGV[11], ARGV[12]) end
return 3
`;

const COMMAND = 'ledgerlineOrderStatusApply';
type ScriptArg = string | number;
type WithApply<R> = { [COMMAND](...args: ScriptArg[]): R };

const defined = new WeakSet<Redis>();
/** Registers the script on the client once (ioredis sends EVALSHA, falling back to EVAL on NOSCRIPT). */
function withScript(redis: Redis): Redis & WithApply<Promise<number>> {
  if (!defined.has(redis)) {
    redis.defineCommand(COMMAND, { lua: APPLY_LUA, numberOfKeys: 5 });
    defined.add(redis);
  }
  return redis as Redis & WithApply<Promise<number>>;
}

export interface OrderStatusRedisOptions {
  /** Prepended to every key and channel: the configuration's `topicPrefix`. */
  readonly keyPrefix: string;
  readonly version?: number;
  /** Approximate cap of each live stream (XADD MAXLEN ~). */
  readonly liveMaxLen?: number;
  /**
   * How long a live stream is kept after its last entry, and how old an event may be and still be published:
   * a replay of older history (a rebuild, a projector that was down for days) updates the hashes and counters
   * but does not flood subscribers with news that is no longer live.
   */
  readonly liveTtlSeconds?: number;
  /** Clock for the age check above; tests may pin it. */
  readonly now?: () => number;
  /** Attempts at a batch whose reads were overtaken by another consumer before giving up (the runner retries). */
  readonly maxAttempts?: number;
  /**
   * `live` (the projector, default): status changes are published and appended to the live streams as they
   * happen. `rebuild` (orderStatusRedisRebuild): nothing is published, and the live streams only get what they
   * lack, with ids from the events' recorded times (see the script).
   */
  readonly mode?: 'live' | 'rebuild';
}

interface PlannedWrite {
  readonly keys: readonly [string, string, string, string, string];
  readonly args: readonly ScriptArg[];
}

interface Plan {
  readonly writes: readonly PlannedWrite[];
  /** Events skipped as already applied (or older than what is stored). */
  readonly duplicates: number;
  /** Events of orders this version has no state for (no OrderPlaced applied): nothing to build on. */
  readonly missingState: number;
}

/**
 * The orders' hot status, counters by status (overall and per restaurant) and the live channel, in Redis.
 * Redelivery-safe per event (see the script above); a batch is one pipeline of scripts, so a crash in the middle
 * leaves a prefix applied and the redelivery completes it.
 */
export function orderStatusRedisProjection(redis: Redis, options: OrderStatusRedisOptions): Projection {
  const store = orderStatusStore(redis, options);
  return {
    name: ORDER_STATUS_PROJECTION,
    version: store.version,
    topics: ORDER_STATUS_TOPICS,
    setup: () => store.setup(),
    async applyBatch(batch: readonly ProjectedEvent[]) {
      await store.apply(batch);
    },
    drop: () => store.drop(),
  };
}

/**
 * A version of the order status as a rebuild from the event store writes it (`ledger projections rebuild
 * ordering.order-status`): its keys are cleared first, events are applied as the projector applies them but
 * publish nothing, and the live streams shared by every version get only what they lack (see the script).
 */
export function orderStatusRedisRebuild(
  redis: Redis,
  options: Omit<OrderStatusRedisOptions, 'mode'> & { readonly version: number },
): RebuildTarget {
  const store = orderStatusStore(redis, { ...options, mode: 'rebuild' });
  return {
    name: ORDER_STATUS_PROJECTION,
    version: store.version,
    topics: ORDER_STATUS_TOPICS,
    async reset() {
      await store.drop();
      await store.setup();
    },
    apply: (events) => store.apply(events),
    drop: () => store.drop(),
  };
}

function orderStatusStore(redis: Redis, options: OrderStatusRedisOptions) {
  const version = options.version ?? ORDER_STATUS_VERSION;
  const prefix = options.keyPrefix;
  const keys = orderStatusKeys(prefix, version);
  const live = liveKeys(prefix);
  const maxLen = options.liveMaxLen ?? 1000;
  const ttlMs = (options.liveTtlSeconds ?? 24 * 60 * 60) * 1000;
  const now = options.now ?? Date.now;
  const maxAttempts = options.maxAttempts ?? 5;
  const liveMode = options.mode === 'rebuild' ? '2' : '1';
  const client = withScript(redis);

  /** Reads the stored state of the batch's orders, folds the events in order, returns the scripts to run. */
  async function plan(events: readonly ProjectedEvent<OrderEvent>[]): Promise<Plan> {
    const orderIds = [...new Set(events.map(orderIdOf))];
    const views = new Map<string, OrderView | null>();
    if (orderIds.length > 0) {
      const read = redis.pipeline();
      for (const id of orderIds) read.hmget(keys.order(id), ...HASH_FIELDS);
      const rows = checked(await read.exec());
      orderIds.forEach((id, i) => {
        views.set(id, viewFromHash(id, rows[i] as (string | null)[]));
      });
    }
    const writes: PlannedWrite[] = [];
    let duplicates = 0;
    let missingState = 0;
    const clock = now();
    for (const event of events) {
      const id = orderIdOf(event);
      const before = views.get(id) ?? null;
      // Older than (or equal to) what is stored or already folded: a redelivery, nothing to send. Skipping it
      // here also keeps the fold on the newest view, so the next events carry the base version the script expects.
      if (before && event.streamVersion <= before.version) {
        duplicates++;
        continue;
      }
      // An event of an order whose OrderPlaced was never applied has nothing to build on (no customer, restaurant
      // or total): nothing is invented. Either this version lost its data (Redis restarted without persistence)
      // or OrderPlaced was dead-lettered; the runner counts it (projection_events_without_state_total) and warns,
      // and a rebuild from the event store repairs it.
      const after = evolveOrderView(before, event);
      if (!after) {
        missingState++;
        continue;
      }
      views.set(id, after);
      const message: LiveOrderStatus = {
        orderId: after.orderId,
        status: after.status,
        version: after.version,
        position: after.position,
        customerId: after.customerId,
        restaurantId: after.restaurantId,
        updatedAt: after.updatedAt,
      };
      const recordedMs = Date.parse(event.recordedAt);
      // NaN (an unparsable time) counts as recent: better one late message than a lost one.
      const recent = !(clock - recordedMs > ttlMs);
      writes.push({
        keys: [
          keys.order(id),
          keys.counts,
          keys.restaurantCounts(after.restaurantId),
          live.order(id),
          live.customer(after.customerId),
        ],
        args: [
          after.version,
          before?.version ?? 0,
          after.status,
          after.position,
          after.customerId,
          after.restaurantId,
          after.totalMinor,
          after.currency,
          after.updatedAt,
          recent ? liveMode : '0',
          live.channel,
          JSON.stringify(message),
          maxLen,
          ttlMs,
          Number.isFinite(recordedMs) ? recordedMs : clock,
        ],
      });
    }
    return { writes, duplicates, missingState };
  }

  /** One attempt: the events applied, or null when another consumer overtook a read (recompute). */
  async function applyOnce(events: readonly ProjectedEvent<OrderEvent>[]): Promise<number | null> {
    const planned = await plan(events);
    let applied = 0;
    let duplicates = planned.duplicates;
    if (planned.writes.length > 0) {
      const pipeline = redis.pipeline() as ChainableCommander & WithApply<ChainableCommander>;
      for (const w of planned.writes) pipeline[COMMAND](...w.keys, ...w.args);
      const results = checked(await pipeline.exec()).map(Number);
      if (results.includes(-1)) return null;
      applied = results.filter((r) => r > 0).length;
      duplicates += results.filter((r) => r === 0).length; // the script's own check found them applied
    }
    countDuplicates(duplicates);
    countMissingState(planned.missingState);
    return applied;
  }

  return {
    version,
    async setup() {
      // Keys are created by the first write; loading the script now surfaces a Redis without Lua at start-up.
      await client.script('LOAD', APPLY_LUA);
    },
    /** Applies a batch; returns the events applied (not skipped). */
    async apply(batch: readonly ProjectedEvent[]): Promise<number> {
      const events = asContract<OrderEvent>(batch);
      for (let attempt = 1; ; attempt++) {
        const applied = await applyOnce(events);
        if (applied !== null) return applied;
        if (attempt >= maxAttempts) {
          throw new Error(`${ORDER_STATUS_PROJECTION}.v${version}: orders kept changing under the batch`);
        }
      }
    },
    /** Removes this version's hashes and counters; the live streams are shared by every version and stay. */
    async drop() {
      for (const pattern of keys.patterns) await unlinkMatching(redis, pattern);
    },
  };
}

function orderIdOf(event: ProjectedEvent<OrderEvent>): string {
  const id = event.data.orderId;
  // Thrown, not skipped: poison, so the runner dead-letters the event with this reason (and a rebuild leaves it out).
  if (typeof id !== 'string' || id === '') throw new MalformedMessageError(`event ${event.eventId} has no orderId`);
  return id;
}

/** Pipeline replies, throwing the first error (a failed script means the batch must be retried). */
function checked(results: [error: Error | null, result: unknown][] | null): unknown[] {
  if (!results) throw new Error('redis pipeline was discarded');
  return results.map(([error, result]) => {
    if (error) throw error;
    return result;
  });
}

/**
 * The stored hash as the OrderView that evolveOrderView folds on. Only the fields the hash keeps matter here;
 * the others (items, acceptance, payment, reason, placing time) are not stored and never written back.
 */
function viewFromHash(orderId: string, values: readonly (string | null)[]): OrderView | null {
  const [status, version, position, customerId, restaurantId, totalMinor, currency, updatedAt] = values;
  if (status == null || version == null) return null;
  return {
    orderId,
    status,
    version: Number(version),
    position: Number(position ?? 0),
    customerId: customerId ?? '',
    restaurantId: restaurantId ?? '',
    totalMinor: Number(totalMinor ?? 0),
    currency: currency ?? '',
    updatedAt: updatedAt ?? '',
    items: [],
    accepted: false,
    paymentId: null,
    reason: null,
    placedAt: '',
  };
}

/** Deletes every key matching `pattern` with SCAN + UNLINK: never KEYS, which blocks the server. */
export async function unlinkMatching(redis: Redis, pattern: string): Promise<number> {
  let cursor = '0';
  let removed = 0;
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    if (found.length > 0) removed += await redis.unlink(...found);
  } while (cursor !== '0');
  return removed;
}

/** The hot status of one order in a version of the read model, or null when the order is not known there. */
export async function orderStatus(
  redis: Redis,
  prefix: string,
  version: number,
  orderId: string,
): Promise<OrderHotStatus | null> {
  const values = await redis.hmget(orderStatusKeys(prefix, version).order(orderId), ...HASH_FIELDS);
  const view = viewFromHash(orderId, values);
  if (!view) return null;
  return {
    orderId,
    status: view.status,
    version: view.version,
    position: view.position,
    customerId: view.customerId,
    restaurantId: view.restaurantId,
    totalMinor: view.totalMinor,
    currency: view.currency,
    updatedAt: view.updatedAt,
  };
}

/** How many orders are in each status now (every status present, 0 when none), overall or for one restaurant. */
export async function statusCounts(
  redis: Redis,
  prefix: string,
  version: number,
  restaurantId?: string,
): Promise<Record<string, number>> {
  const keys = orderStatusKeys(prefix, version);
  const stored = await redis.hgetall(restaurantId === undefined ? keys.counts : keys.restaurantCounts(restaurantId));
  const counts: Record<string, number> = Object.fromEntries(STATUSES.map((s) => [s, 0]));
  for (const [status, n] of Object.entries(stored)) counts[status] = Number(n);
  return counts;
}

/** How many orders a version holds: the sum of its counters by status (they always equal its hashes). */
export async function orderCount(redis: Redis, prefix: string, version: number): Promise<number> {
  const counts = await redis.hvals(orderStatusKeys(prefix, version).counts);
  return counts.reduce((n, c) => n + Number(c), 0);
}
