import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Balances } from './balances.js';
import { ConnectLedger } from './connect-ledger.js';
import {
  connectedAccountUnsupported,
  injectedFailure,
  SimulatorError,
  unauthenticated,
  unknownRoute,
} from './errors.js';
import { canonical, FormError, type FormObject, parseForm } from './form.js';
import { IdempotencyStore, type StoredAnswer } from './idempotency.js';
import { type Effect, PaymentLedger, type Reply, type Settlement } from './ledger.js';
import { newId, nowSeconds } from './objects.js';
import { type Books, findRoute, type SimulatorOperation } from './routes.js';
import { type StripeEvent, type WebhookDelivery, WebhookSender } from './webhook-sender.js';

// A local Stripe-compatible server for the subset of the API the payment adapters use (see routes.ts), so the
// adapters, the sagas and the end-to-end tests run against the real SDK without reaching Stripe.

export interface PaymentSimulatorOptions {
  /** 0 (the default) picks a free port. */
  readonly port?: number;
  readonly host?: string;
  /** Where events are POSTed; without it no webhooks are sent (events are still recorded). */
  readonly webhookUrl?: string;
  /** The endpoint secret events are signed with; required with webhookUrl. */
  readonly webhookSecret?: string;
  /** How long the slow test card takes to approve (default 3 s). */
  readonly slowCardDelayMs?: number;
  /** Waits before each webhook retry (default 0.5 s, 2 s, 5 s: three retries). */
  readonly webhookRetryDelaysMs?: readonly number[];
  /**
   * Where the marketplace's Connect events go: those on a connected account (payouts), transfers and accounts, and
   * those about a charge made for a contract (metadata contractId or a transfer_group). Without it they go to
   * webhookUrl with the rest, as one Stripe endpoint listening to everything would get them.
   */
  readonly connectWebhookUrl?: string;
  /** The Connect endpoint's own secret (Stripe gives each endpoint one); webhookSecret when not set. */
  readonly connectWebhookSecret?: string;
  /** How long a payout stays pending before payout.paid (or payout.failed) is sent (default 500 ms). */
  readonly payoutDelayMs?: number;
  /**
   * Operations whose answer is held back this long after they took effect: the provider acted, its answer is
   * slow (a client that dies meanwhile must find the effect again under the same idempotency key).
   */
  readonly answerDelayMs?: Partial<Record<SimulatorOperation, number>>;
}

/** Answers the simulator gives instead of running the next requests (see PaymentSimulator.injectFailures). */
export interface InjectedFailures {
  readonly count: number;
  /** Only requests for this operation (default: any API request). */
  readonly operation?: SimulatorOperation;
  /** 429 (rate limited), 500 or 503; default 503. */
  readonly status?: 429 | 500 | 503;
}

/** An API call that changed something (idempotent replays and refusals are not calls). */
export interface SimulatorCall {
  readonly seq: number;
  readonly at: string;
  readonly requestId: string;
  readonly operation: SimulatorOperation;
  readonly method: string;
  readonly path: string;
  readonly idempotencyKey: string | null;
  readonly params: FormObject;
  /** The HTTP status answered (402 for a decline: the declined intent exists). */
  readonly status: number;
  /** The PaymentIntent concerned (for a transfer: its source charge's); null for accounts and payouts. */
  readonly paymentIntent: string | null;
  readonly objectId: string;
  /** The intent's status afterwards, `refunded` / `partially_refunded`, or the Connect object's status. */
  readonly result: string;
  readonly card: string | null;
  /** The connected account the call acted on (Stripe-Account), if any. */
  readonly account: string | null;
  /** The webhook event the call produced (none for an account's creation). */
  readonly eventType: string | null;
}

/** Every API request received, replays and refusals included. */
export interface SimulatorRequest {
  readonly seq: number;
  readonly at: string;
  readonly requestId: string;
  readonly method: string;
  readonly path: string;
  readonly operation: SimulatorOperation | null;
  readonly idempotencyKey: string | null;
  readonly status: number;
  readonly replayed: boolean;
}

export interface PaymentSimulator {
  readonly url: string;
  readonly port: number;
  calls(): SimulatorCall[];
  /** Empties the call, request and webhook delivery logs; objects and idempotency keys stay. */
  resetCalls(): void;
  requests(): SimulatorRequest[];
  events(): StripeEvent[];
  /** Deliveries to both endpoints (see WebhookDelivery.endpoint). */
  webhookDeliveries(): WebhookDelivery[];
  /**
   * Resolves when every payout pending so far has been settled (paid or failed) and every webhook delivery started
   * so far has been delivered or given up.
   */
  webhooksIdle(): Promise<void>;
  /** Delivers a recorded event again, as Stripe sometimes does; false when there is no such event or no URL. */
  resendEvent(eventId: string): boolean;
  /**
   * The next `count` API requests (for `operation`, if given) are answered with `status` without running: nothing
   * happens and nothing is stored under their idempotency keys, so a retry with the same key runs for real (a
   * transient failure in front of the API: a rate limit, a load balancer's 503). Adds to any still pending.
   */
  injectFailures(failures: InjectedFailures): void;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 1024 * 1024;

export async function startPaymentSimulator(options: PaymentSimulatorOptions = {}): Promise<PaymentSimulator> {
  const host = options.host ?? '127.0.0.1';
  if (options.webhookUrl !== undefined && !options.webhookSecret) {
    throw new Error('startPaymentSimulator: webhookSecret is required when webhookUrl is set');
  }
  const connectSecret = options.connectWebhookSecret || options.webhookSecret;
  if (options.connectWebhookUrl !== undefined && !connectSecret) {
    throw new Error('startPaymentSimulator: connectWebhookSecret or webhookSecret is required with connectWebhookUrl');
  }
  const lifetime = new AbortController();
  const balances = new Balances();
  const payments = new PaymentLedger({
    slowCardDelayMs: options.slowCardDelayMs ?? 3000,
    signal: lifetime.signal,
    balances,
  });
  const books: Books = {
    payments,
    connect: new ConnectLedger(payments, balances, { payoutDelayMs: options.payoutDelayMs ?? 500 }),
  };
  const idempotency = new IdempotencyStore();
  const senderTo = (endpoint: 'payments' | 'connect', url: string | undefined, secret: string | undefined) =>
    url === undefined
      ? null
      : new WebhookSender({
          endpoint,
          url,
          secret: secret ?? '',
          retryDelaysMs: options.webhookRetryDelaysMs ?? [500, 2000, 5000],
          attemptTimeoutMs: 5000,
          signal: lifetime.signal,
        });
  const sender = senderTo('payments', options.webhookUrl, options.webhookSecret);
  const connectSender = senderTo('connect', options.connectWebhookUrl, connectSecret) ?? sender;
  const senderFor = (event: StripeEvent): WebhookSender | null => (isConnectEvent(event) ? connectSender : sender);
  const calls: SimulatorCall[] = [];
  const requests: SimulatorRequest[] = [];
  const events: StripeEvent[] = [];
  const settlements = new Set<Promise<void>>();
  const injected: { remaining: number; operation: SimulatorOperation | null; status: 429 | 500 | 503 }[] = [];
  let seq = 0;

  /** Records the event an effect produced, if any, and starts its delivery. */
  const emit = (effect: Effect, request: StripeEvent['request'], apiVersion: string | null): StripeEvent | null => {
    if (effect.event === null) return null;
    const draft: StripeEvent = {
      id: newId('evt'),
      object: 'event',
      ...(effect.account === undefined ? {} : { account: effect.account }),
      api_version: apiVersion,
      created: nowSeconds(),
      data: { object: effect.event.object },
      livemode: false,
      pending_webhooks: 0,
      request,
      type: effect.event.type,
    };
    const target = senderFor(draft);
    const event: StripeEvent = { ...draft, pending_webhooks: target === null ? 0 : 1 };
    events.push(event);
    target?.send(event);
    return event;
  };

  const recordEffect = (effect: Effect, context: CallContext, status: number): void => {
    const event = emit(
      effect,
      { id: context.requestId, idempotency_key: context.idempotencyKey },
      context.stripeVersion,
    );
    calls.push({
      seq: ++seq,
      at: new Date().toISOString(),
      requestId: context.requestId,
      operation: context.operation,
      method: context.method,
      path: context.path,
      idempotencyKey: context.idempotencyKey,
      params: context.params,
      status,
      paymentIntent: effect.paymentIntent,
      objectId: effect.objectId,
      result: effect.result,
      card: effect.card,
      account: context.stripeAccount,
      eventType: event?.type ?? null,
    });
  };

  /** What an operation set in motion happens after its delay, unless the simulator closes first. */
  const schedule = (later: Settlement, apiVersion: string | null): void => {
    const settlement = sleep(later.afterMs, undefined, { signal: lifetime.signal })
      .then(
        () => {
          emit(later.settle(), { id: null, idempotency_key: null }, apiVersion);
        },
        () => undefined, // closed meanwhile
      )
      .finally(() => settlements.delete(settlement));
    settlements.add(settlement);
  };

  const takeInjected = (operation: SimulatorOperation): SimulatorError | null => {
    const index = injected.findIndex((entry) => entry.operation === null || entry.operation === operation);
    const entry = injected[index];
    if (entry === undefined) return null;
    entry.remaining -= 1;
    if (entry.remaining <= 0) injected.splice(index, 1);
    return injectedFailure(entry.status);
  };

  const api = async (req: IncomingMessage, url: URL, requestId: string): Promise<Answer> => {
    const method = req.method ?? 'GET';
    const body = await readBody(req);
    const authorization = req.headers.authorization ?? '';
    if (!/^(Bearer|Basic)\s+\S+/i.test(authorization)) throw unauthenticated();
    const found = findRoute(method, url.pathname);
    if (found === null) throw unknownRoute(method, url.pathname);
    const operation = found.route.operation;
    const failure = takeInjected(operation);
    if (failure !== null) return { ...toAnswer(failure), operation, replayed: false };
    const stripeAccount = headerValue(req, 'stripe-account');
    if (stripeAccount !== null && found.route.onConnectedAccount !== true) throw connectedAccountUnsupported(operation);
    const params = parseParams(method === 'GET' ? url.search.slice(1) : body);
    const idempotencyKey = method === 'POST' ? headerValue(req, 'idempotency-key') : null;
    const context: CallContext = {
      requestId,
      operation,
      method,
      path: url.pathname,
      params,
      idempotencyKey,
      stripeVersion: headerValue(req, 'stripe-version'),
      stripeAccount,
    };
    if (idempotencyKey !== null) {
      const admission = idempotency.admit(idempotencyKey, url.pathname, canonical(params), stripeAccount);
      if (admission.kind === 'replay') return { ...admission.answer, operation, replayed: true };
    }
    const { answer, keep, effect, later } = await run(() => found.route.run(books, found.id, params, context));
    if (idempotencyKey !== null) idempotency.finish(idempotencyKey, keep ? answer : null, stripeAccount);
    if (effect !== null) recordEffect(effect, context, answer.status);
    if (later !== null) schedule(later, context.stripeVersion);
    const delay = options.answerDelayMs?.[operation] ?? 0;
    if (delay > 0) await sleep(delay, undefined, { signal: lifetime.signal }).catch(() => undefined);
    return { ...answer, operation, replayed: false };
  };

  const server = createServer((req, res) => {
    const requestId = newId('req');
    const url = new URL(req.url ?? '/', 'http://simulator.invalid');
    if (url.pathname.startsWith('/_simulator/')) {
      const answer = control(req.method ?? 'GET', url);
      send(res, answer.status, answer.body, {});
      return;
    }
    void api(req, url, requestId)
      .catch((error: unknown): Answer => ({ ...toAnswer(error), operation: null, replayed: false }))
      .then((answer) => {
        const idempotencyKey = req.method === 'POST' ? headerValue(req, 'idempotency-key') : null;
        requests.push({
          seq: ++seq,
          at: new Date().toISOString(),
          requestId,
          method: req.method ?? 'GET',
          path: url.pathname,
          operation: answer.operation,
          idempotencyKey,
          status: answer.status,
          replayed: answer.replayed,
        });
        send(res, answer.status, answer.body, {
          'request-id': requestId,
          ...(idempotencyKey === null ? {} : { 'idempotency-key': idempotencyKey }),
          ...(answer.replayed ? { 'idempotent-replayed': 'true' } : {}),
        });
      });
  });

  const deliveries = (): WebhookDelivery[] => [
    ...(sender?.deliveries() ?? []),
    ...(connectSender !== sender ? (connectSender?.deliveries() ?? []) : []),
  ];

  const injectFailures = (failures: InjectedFailures): void => {
    if (!Number.isInteger(failures.count) || failures.count < 1)
      throw new RangeError('count must be a positive integer');
    const status = failures.status ?? 503;
    if (![429, 500, 503].includes(status)) throw new RangeError('status must be 429, 500 or 503');
    injected.push({ remaining: failures.count, operation: failures.operation ?? null, status });
  };

  const control = (method: string, url: URL): StoredAnswer => {
    const path = url.pathname;
    if (path === '/_simulator/calls' && method === 'GET') return { status: 200, body: calls };
    if (path === '/_simulator/calls' && method === 'DELETE') {
      reset();
      return { status: 204, body: null };
    }
    if (path === '/_simulator/requests' && method === 'GET') return { status: 200, body: requests };
    if (path === '/_simulator/events' && method === 'GET') return { status: 200, body: events };
    if (path === '/_simulator/webhooks' && method === 'GET') return { status: 200, body: deliveries() };
    if (path === '/_simulator/failures' && method === 'POST') {
      // ?count=2&operation=transfers.create&status=429, for a simulator running as its own process.
      const query = url.searchParams;
      try {
        injectFailures({
          count: Number(query.get('count') ?? '1'),
          ...(query.get('operation') ? { operation: query.get('operation') as SimulatorOperation } : {}),
          ...(query.get('status') ? { status: Number(query.get('status')) as 429 | 500 | 503 } : {}),
        });
      } catch (error) {
        return { status: 400, body: { error: { type: 'invalid_request_error', message: String(error) } } };
      }
      return { status: 204, body: null };
    }
    return {
      status: 404,
      body: { error: { type: 'invalid_request_error', message: `Unknown simulator route ${method} ${path}` } },
    };
  };

  const reset = (): void => {
    calls.length = 0;
    requests.length = 0;
    sender?.clear();
    connectSender?.clear();
  };

  const settled = async (): Promise<void> => {
    while (settlements.size > 0) await Promise.allSettled([...settlements]);
  };

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    calls: () => calls.map((call) => ({ ...call })),
    resetCalls: reset,
    requests: () => requests.map((request) => ({ ...request })),
    events: () => [...events],
    webhookDeliveries: deliveries,
    webhooksIdle: async () => {
      await settled();
      await Promise.all([sender?.idle(), connectSender?.idle()]);
    },
    resendEvent: (eventId) => {
      const event = events.find((candidate) => candidate.id === eventId);
      const target = event === undefined ? null : senderFor(event);
      if (event === undefined || target === null) return false;
      target.send(event);
      return true;
    },
    injectFailures,
    close: async () => {
      lifetime.abort();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await Promise.all([closed, settled(), sender?.idle(), connectSender?.idle()]);
    },
  };
}

/**
 * Whether an event is the marketplace's: it happened on a connected account (payouts), it is about Connect's own
 * objects (transfers, accounts), or about a charge made for a contract (metadata contractId, or a transfer_group).
 */
export function isConnectEvent(event: StripeEvent): boolean {
  if (event.account !== undefined) return true;
  if (/^(transfer|payout|account)\./.test(event.type)) return true;
  const object = event.data.object;
  const metadata = object.metadata;
  const contractId =
    typeof metadata === 'object' && metadata !== null ? (metadata as Record<string, unknown>).contractId : undefined;
  return (typeof contractId === 'string' && contractId !== '') || typeof object.transfer_group === 'string';
}

interface CallContext {
  readonly requestId: string;
  readonly operation: SimulatorOperation;
  readonly method: string;
  readonly path: string;
  readonly params: FormObject;
  readonly idempotencyKey: string | null;
  readonly stripeVersion: string | null;
  readonly stripeAccount: string | null;
}

interface Answer extends StoredAnswer {
  readonly operation: SimulatorOperation | null;
  readonly replayed: boolean;
}

/** Runs an endpoint; a refusal becomes its Stripe error answer, kept for the idempotency key only if stored. */
async function run(
  endpoint: () => Reply | Promise<Reply>,
): Promise<{ answer: StoredAnswer; keep: boolean; effect: Effect | null; later: Settlement | null }> {
  try {
    const reply = await endpoint();
    return {
      answer: { status: reply.status, body: reply.body },
      keep: true,
      effect: reply.effect,
      later: reply.later ?? null,
    };
  } catch (error) {
    return {
      answer: toAnswer(error),
      keep: error instanceof SimulatorError && error.stored,
      effect: null,
      later: null,
    };
  }
}

function toAnswer(error: unknown): StoredAnswer {
  if (error instanceof SimulatorError) return { status: error.status, body: { error: error.body } };
  const message = error instanceof Error ? error.message : String(error);
  return { status: 500, body: { error: { type: 'api_error', message: `Simulator failure: ${message}` } } };
}

function parseParams(encoded: string): FormObject {
  try {
    return parseForm(encoded);
  } catch (error) {
    if (!(error instanceof FormError)) throw error;
    throw new SimulatorError(
      400,
      { type: 'invalid_request_error', code: 'parameter_unknown', message: error.message, param: error.param },
      false,
    );
  }
}

function headerValue(req: IncomingMessage, name: string): string | null {
  const value = req.headers[name];
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined || first === '' ? null : first;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > MAX_BODY_BYTES) {
      throw new SimulatorError(413, { type: 'invalid_request_error', message: 'Request body too large.' }, false);
    }
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string>): void {
  if (res.destroyed || res.writableEnded) return; // the client went away (or the simulator is closing)
  if (status === 204) {
    res.writeHead(204, headers).end();
    return;
  }
  const payload = JSON.stringify(body);
  res
    .writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(payload),
      ...headers,
    })
    .end(payload);
}
