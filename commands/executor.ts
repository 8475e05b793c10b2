import { createHash, randomUUID } from 'node:crypto';
import type { EventCodec } from '../schemas/codec.js';
import type { Decider, DomainEvent } from './decider.js';
import { DomainError } from './decider.js';
import { ConcurrencyError, IdempotencyRaceError } from './store/errors.js';
import type {
  AppendResult,
  AppendTransaction,
  EventMetadata,
  EventStore,
  ExpectedVersion,
  RecordedEvent,
} from './store/event-store.js';

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
  readonly alsoInTransaction?: (trx: AppendTransaction) => Promise<void>;
  /**
   * The command creates the stream (place-order with a new order id): decide on the empty state and append with
   * `no_stream`, without reading the stream first. If it exists after all, the command runs again the usual way
   * (load, decide, append), so the answer is the same as without this option; only the common case is cheaper.
   */
  readonly createsStream?: boolean;
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

/** One aggregate to load with others (`executor.loadMany`): its stream and how to fold the stream's events. */
export interface LoadTarget<State> {
  readonly streamId: string;
  readonly fold: (events: readonly DomainEvent[]) => State;
}

/** The aggregate `id` of this type, as a target of `loadMany`. */
export const loadTarget = <State, Event extends DomainEvent>(
  aggregate: Aggregate<State, Event>,
  id: string,
): LoadTarget<State> => ({
  streamId: aggregate.streamId(id),
  fold: (events) => (events as readonly Event[]).reduce(aggregate.evolve, aggregate.initialState()),
});

/** What `loadMany` answers for a tuple of targets: a Loaded of each one's state, in the same order. */
export type LoadedAll<Targets extends readonly LoadTarget<unknown>[]> = {
  -readonly [K in keyof Targets]: Targets[K] extends LoadTarget<infer State> ? Loaded<State> : never;
};

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
    const [loaded] = await this.loadMany([loadTarget(aggregate, id)] as const);
    return loaded;
  }

  /**
   * Loads several aggregates, of any types, with one query (per thousand events): everything a command needs
   * before deciding. `const [restaurant, ...items] = await executor.loadMany([loadTarget(restaurants, id), …])`.
   */
  async loadMany<const Targets extends readonly LoadTarget<unknown>[]>(targets: Targets): Promise<LoadedAll<Targets>> {
    const streams = await this.store.readStreams(
      targets.map((t) => t.streamId),
      LOAD_PAGE,
    );
    const loaded = await Promise.all(
      targets.map(async (target) => {
        const recorded = streams.get(target.streamId) ?? [];
        const events = await Promise.all(recorded.map((r) => this.decode(r)));
        const last = recorded.at(-1);
        return { state: target.fold(events), version: last?.streamVersion ?? 0, position: last?.globalPosition ?? 0 };
      }),
    );
    return loaded as LoadedAll<Targets>;
  }

  private async decode(recorded: RecordedEvent): Promise<DomainEvent> {
    const decoded = await this.codec.decode(recorded.payload);
    return { type: decoded.eventType, data: decoded.data };
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
    const idempotency = context.idempotencyKey ? { scope, key: context.idempotencyKey, requestHash: hash } : undefined;
    const metadata: EventMetadata = {
      correlationId: context.correlationId,
      causationId: context.causationId ?? null,
      actor: context.actor,
      ...(context.traceId ? { traceId: context.traceId } : {}),
    };
    const append = (expectedVersion: ExpectedVersion, events: readonly Event[]) =>
      this.store.append({
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

    // A concurrent request with the same key may commit between the first look at the key and the load below:
    // its events are then in the loaded state, so the version check or the decision would refuse (409,
    // ORDER_EXISTS) or no-op where the client must get that request's response. So every refusal looks at the
    // key once more.
    const replayOrThrow = async (error: unknown): Promise<CommandResult> => {
      const stored = await this.storedResponse(scope, context.idempotencyKey, hash);
      if (stored) return stored;
      throw error;
    };

    if (options.createsStream && context.expectedVersion === undefined) {
      // No look at the key first either: a retry's append fails on the key (or on the existing stream) and
      // nothing is written; the stored response is read then.
      const created = await this.createStream(aggregate, decide, append, replayOrThrow);
      if (created) return created;
    }

    const replay = await this.storedResponse(scope, context.idempotencyKey, hash);
    if (replay) return replay;

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
      try {
        return await append(loaded.version === 0 ? 'no_stream' : loaded.version, events);
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

  /**
   * The `createsStream` attempt: decide on the empty state and append with `no_stream`. Null when the usual
   * path must answer instead: the stream exists (a conflict), or the decision on the empty state refuses or
   * appends nothing.
   */
  private async createStream<State, Event extends DomainEvent>(
    aggregate: Aggregate<State, Event>,
    decide: (state: State, now: Date) => Event[] | Promise<Event[]>,
    append: (expectedVersion: ExpectedVersion, events: readonly Event[]) => Promise<CommandResult>,
    replayOrThrow: (error: unknown) => Promise<CommandResult>,
  ): Promise<CommandResult | null> {
    let events: Event[];
    try {
      events = await decide(aggregate.initialState(), this.clock());
    } catch {
      // Refused on the empty state (a closed restaurant): the stream may exist, and then its own answer comes
      // first (ORDER_EXISTS), as it would without this attempt. Refusals are rare; the usual path re-decides.
      return null;
    }
    if (events.length === 0) return null;
    try {
      return await append('no_stream', events);
    } catch (error) {
      if (error instanceof IdempotencyRaceError) return replayOrThrow(error);
      if (error instanceof ConcurrencyError) return null;
      throw error;
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
