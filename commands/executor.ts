import { createHash, randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import type { EventCodec } from '../schemas/codec.js';
import type { Decider, DomainEvent } from './decider.js';
import { DomainError } from './decider.js';
import { ConcurrencyError, IdempotencyRaceError } from './store/errors.js';
import type { AppendResult, EventMetadata, EventStore, ExpectedVersion } from './store/event-store.js';

/** Who asks and why: becomes the appended events' metadata. */
export interface CommandContext {
  readonly actor: string;
  readonly correlationId: string;
  readonly causationId?: string | null;
  /** Same key and same request → the stored response; same key, another request → IDEMPOTENCY_KEY_REUSED. */
  readonly idempotencyKey?: string;
  /** The request as the client sent it (command name and body), hashed to recognise a retry. */
  readonly request?: unknown;
  /** The client's expected stream version (If-Match): a conflict is then reported, never retried. */
  readonly expectedVersion?: number;
  /** The caller's role, for handlers that check ownership (a restaurant may act only on its own). */
  readonly role?: string;
  /** The trace the request belongs to (W3C trace id), kept in the events' metadata. */
  readonly traceId?: string;
}

export interface ExecuteOptions {
  /** Write-side state committed in the append's transaction (see AppendRequest.alsoInTransaction). */
  readonly alsoInTransaction?: (trx: Knex.Transaction) => Promise<void>;
}

export type CommandResult = AppendResult;

/** Where an aggregate type's events are stored: its stream type and how an aggregate id names its stream. */
export interface StreamNaming {
  /** Stream type, which is also the topic: `ordering.order`. */
  readonly streamType: string;
  /** The stream id for an aggregate id: `order-<id>`. */
  readonly streamId: (id: string) => string;
}

/** How to rebuild one aggregate type from its stream: its decider's fold, and where the stream is. */
export type Aggregate<State, Event extends DomainEvent> = Pick<
  Decider<unknown, Event, State>,
  'initialState' | 'evolve'
> &
  StreamNaming;

/** The aggregate a decider folds, stored under `naming`: `aggregateOf(orderDecider, { streamType, streamId })`. */
export const aggregateOf = <State, Event extends DomainEvent>(
  decider: Pick<Decider<unknown, Event, State>, 'initialState' | 'evolve'>,
  naming: StreamNaming,
): Aggregate<State, Event> => ({
  streamType: naming.streamType,
  streamId: naming.streamId,
  initialState: decider.initialState,
  evolve: decider.evolve,
});

export interface Loaded<State> {
  readonly state: State;
  readonly version: number;
  readonly position: number;
}

const MAX_ATTEMPTS = 5;
const LOAD_PAGE = 1000;

export const requestHash = (request: unknown): string =>
  createHash('sha256')
    .update(JSON.stringify(request ?? null))
    .digest('hex');

/**
 * Runs a command: load the stream, decide, append. A conflict with a concurrent writer is retried with
 * the fresh state (decide is pure, so re-deciding is always safe) unless the client pinned a version.
 */
export class CommandExecutor {
  constructor(
    private readonly store: EventStore,
    private readonly codec: EventCodec,
    readonly clock: () => Date = () => new Date(),
  ) {}

  async load<State, Event extends DomainEvent>(aggregate: Aggregate<State, Event>, id: string): Promise<Loaded<State>> {
    const streamId = aggregate.streamId(id);
    let state = aggregate.initialState();
    let version = 0;
    let position = 0;
    // Page through the stream: a long-lived aggregate may have more events than one read returns.
    for (;;) {
      const page = await this.store.readStream(streamId, { fromVersion: version + 1, limit: LOAD_PAGE });
      for (const recorded of page) {
        const decoded = await this.codec.decode(recorded.payload);
        state = aggregate.evolve(state, { type: decoded.eventType, data: decoded.data } as Event);
        version = recorded.streamVersion;
        position = recorded.globalPosition;
      }
      if (page.length < LOAD_PAGE) break;
    }
    return { state, version, position };
  }

  async execute<State, Event extends DomainEvent>(
    aggregate: Aggregate<State, Event>,
    id: string,
    decide: (state: State, now: Date) => Event[] | Promise<Event[]>,
    context: CommandContext,
    options: ExecuteOptions = {},
  ): Promise<CommandResult> {
    const streamId = aggregate.streamId(id);
    const scope = context.actor;
    const hash = requestHash(context.request);
    const replay = await this.storedResponse(scope, context.idempotencyKey, hash);
    if (replay) return replay;

    // A concurrent request with the same key may commit between that first look and the load below: its events
    // are then in the loaded state, so the version check or the decision would refuse (409, ORDER_EXISTS) or
    // no-op where the client must get that request's response. So every refusal looks at the key once more.
    const replayOrThrow = async (error: unknown): Promise<CommandResult> => {
      const stored = await this.storedResponse(scope, context.idempotencyKey, hash);
      if (stored) return stored;
      throw error;
    };

    for (let attempt = 1; ; attempt++) {
      const loaded = await this.load(aggregate, id);
      if (context.expectedVersion !== undefined && context.expectedVersion !== loaded.version) {
        return replayOrThrow(new ConcurrencyError(streamId, String(context.expectedVersion), loaded.version));
      }
      let events: Event[];
      try {
        events = await decide(loaded.state, this.clock());
      } catch (error) {
        return replayOrThrow(error);
      }
      const idempotency = context.idempotencyKey
        ? { scope, key: context.idempotencyKey, requestHash: hash }
        : undefined;
      if (events.length === 0) {
        // A key already stored (a concurrent twin committed) makes rememberNoop throw the race: its response wins.
        const result = { streamId, version: loaded.version, position: loaded.position };
        if (!idempotency) return result;
        try {
          await this.store.rememberNoop(idempotency, result);
          return result;
        } catch (error) {
          if (!(error instanceof IdempotencyRaceError)) throw error;
          return (await this.storedResponse(scope, context.idempotencyKey, hash)) ?? result;
        }
      }
      const metadata: EventMetadata = {
        correlationId: context.correlationId,
        causationId: context.causationId ?? null,
        actor: context.actor,
        ...(context.traceId ? { traceId: context.traceId } : {}),
      };
      const expectedVersion: ExpectedVersion = loaded.version === 0 ? 'no_stream' : loaded.version;
      try {
        return await this.store.append({
          streamId,
          streamType: aggregate.streamType,
          expectedVersion,
          events: events.map((event) => ({
            eventId: randomUUID(),
            eventType: event.type,
            ...this.codec.encode(event.type, event.data),
          })),
          metadata,
          idempotency,
          alsoInTransaction: options.alsoInTransaction,
        });
      } catch (error) {
        // A concurrent request with the same key may have won: its response, committed with its events, is ours.
        if (error instanceof IdempotencyRaceError || (error instanceof ConcurrencyError && context.idempotencyKey)) {
          const stored = await this.storedResponse(scope, context.idempotencyKey, hash);
          if (stored) return stored;
        }
        const retryable = error instanceof ConcurrencyError && context.expectedVersion === undefined;
        if (!retryable || attempt >= MAX_ATTEMPTS) throw error;
      }
    }
  }

  private async storedResponse(scope: string, key: string | undefined, hash: string): Promise<CommandResult | null> {
    if (!key) return null;
    const stored = await this.store.findIdempotent(scope, key);
    if (!stored) return null;
    if (stored.requestHash !== hash) {
      throw new DomainError(
        'unprocessable',
        'IDEMPOTENCY_KEY_REUSED',
        'this Idempotency-Key was used with a different request',
        {
          key,
        },
      );
    }
    return stored.response;
  }
}
