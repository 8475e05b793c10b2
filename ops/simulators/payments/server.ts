import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SimulatorError, unauthenticated, unknownRoute } from './errors.js';
import { canonical, FormError, type FormObject, parseForm } from './form.js';
import { IdempotencyStore, type StoredAnswer } from './idempotency.js';
import { type Effect, PaymentLedger, type Reply } from './ledger.js';
import { newId, nowSeconds } from './objects.js';
import { findRoute, type SimulatorOperation } from './routes.js';
import { type StripeEvent, type WebhookDelivery, WebhookSender } from './webhook-sender.js';

// A local Stripe-compatible server for the subset of the API the payment adapter uses (see routes.ts), so the
// adapter, the saga and the end-to-end tests run against the real SDK without reaching Stripe.

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
  readonly paymentIntent: string;
  readonly objectId: string;
  /** The intent's status afterwards, or `refunded` / `partially_refunded`. */
  readonly result: string;
  readonly card: string | null;
  /** The webhook event the call produced. */
  readonly eventType: string;
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
  webhookDeliveries(): WebhookDelivery[];
  /** Resolves when every webhook delivery started so far has been delivered or given up. */
  webhooksIdle(): Promise<void>;
  /** Delivers a recorded event again, as Stripe sometimes does; false when there is no such event or no URL. */
  resendEvent(eventId: string): boolean;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 1024 * 1024;

export async function startPaymentSimulator(options: PaymentSimulatorOptions = {}): Promise<PaymentSimulator> {
  const host = options.host ?? '127.0.0.1';
  if (options.webhookUrl !== undefined && !options.webhookSecret) {
    throw new Error('startPaymentSimulator: webhookSecret is required when webhookUrl is set');
  }
  const lifetime = new AbortController();
  const ledger = new PaymentLedger({ slowCardDelayMs: options.slowCardDelayMs ?? 3000, signal: lifetime.signal });
  const idempotency = new IdempotencyStore();
  const sender =
    options.webhookUrl === undefined
      ? null
      : new WebhookSender({
          url: options.webhookUrl,
          secret: options.webhookSecret ?? '',
          retryDelaysMs: options.webhookRetryDelaysMs ?? [500, 2000, 5000],
          attemptTimeoutMs: 5000,
          signal: lifetime.signal,
        });
  const calls: SimulatorCall[] = [];
  const requests: SimulatorRequest[] = [];
  const events: StripeEvent[] = [];
  let seq = 0;

  const recordEffect = (effect: Effect, context: CallContext, status: number): void => {
    const event: StripeEvent = {
      id: newId('evt'),
      object: 'event',
      api_version: context.stripeVersion,
      created: nowSeconds(),
      data: { object: effect.event.object },
      livemode: false,
      pending_webhooks: sender === null ? 0 : 1,
      request: { id: context.requestId, idempotency_key: context.idempotencyKey },
      type: effect.event.type,
    };
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
      eventType: event.type,
    });
    events.push(event);
    sender?.send(event);
  };

  const api = async (req: IncomingMessage, url: URL, requestId: string): Promise<Answer> => {
    const method = req.method ?? 'GET';
    const body = await readBody(req);
    const authorization = req.headers.authorization ?? '';
    if (!/^(Bearer|Basic)\s+\S+/i.test(authorization)) throw unauthenticated();
    const found = findRoute(method, url.pathname);
    if (found === null) throw unknownRoute(method, url.pathname);
    const params = parseParams(method === 'GET' ? url.search.slice(1) : body);
    const idempotencyKey = method === 'POST' ? headerValue(req, 'idempotency-key') : null;
    const context: CallContext = {
      requestId,
      operation: found.route.operation,
      method,
      path: url.pathname,
      params,
      idempotencyKey,
      stripeVersion: headerValue(req, 'stripe-version'),
    };
    if (idempotencyKey !== null) {
      const admission = idempotency.admit(idempotencyKey, url.pathname, canonical(params));
      if (admission.kind === 'replay') return { ...admission.answer, operation: context.operation, replayed: true };
    }
    const { answer, keep, effect } = await run(() => found.route.run(ledger, found.id, params, context));
    if (idempotencyKey !== null) idempotency.finish(idempotencyKey, keep ? answer : null);
    if (effect !== null) recordEffect(effect, context, answer.status);
    return { ...answer, operation: context.operation, replayed: false };
  };

  const server = createServer((req, res) => {
    const requestId = newId('req');
    const url = new URL(req.url ?? '/', 'http://simulator.invalid');
    if (url.pathname.startsWith('/_simulator/')) {
      const answer = control(req.method ?? 'GET', url.pathname);
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

  const control = (method: string, path: string): StoredAnswer => {
    if (path === '/_simulator/calls' && method === 'GET') return { status: 200, body: calls };
    if (path === '/_simulator/calls' && method === 'DELETE') {
      reset();
      return { status: 204, body: null };
    }
    if (path === '/_simulator/requests' && method === 'GET') return { status: 200, body: requests };
    if (path === '/_simulator/events' && method === 'GET') return { status: 200, body: events };
    if (path === '/_simulator/webhooks' && method === 'GET') return { status: 200, body: sender?.deliveries() ?? [] };
    return {
      status: 404,
      body: { error: { type: 'invalid_request_error', message: `Unknown simulator route ${method} ${path}` } },
    };
  };

  const reset = (): void => {
    calls.length = 0;
    requests.length = 0;
    sender?.clear();
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
    webhookDeliveries: () => sender?.deliveries() ?? [],
    webhooksIdle: () => sender?.idle() ?? Promise.resolve(),
    resendEvent: (eventId) => {
      const event = events.find((candidate) => candidate.id === eventId);
      if (event === undefined || sender === null) return false;
      sender.send(event);
      return true;
    },
    close: async () => {
      lifetime.abort();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await Promise.all([closed, sender?.idle()]);
    },
  };
}

interface CallContext {
  readonly requestId: string;
  readonly operation: SimulatorOperation;
  readonly method: string;
  readonly path: string;
  readonly params: FormObject;
  readonly idempotencyKey: string | null;
  readonly stripeVersion: string | null;
}

interface Answer extends StoredAnswer {
  readonly operation: SimulatorOperation | null;
  readonly replayed: boolean;
}

/** Runs an endpoint; a refusal becomes its Stripe error answer, kept for the idempotency key only if stored. */
async function run(
  endpoint: () => Reply | Promise<Reply>,
): Promise<{ answer: StoredAnswer; keep: boolean; effect: Effect | null }> {
  try {
    const reply = await endpoint();
    return { answer: { status: reply.status, body: reply.body }, keep: true, effect: reply.effect };
  } catch (error) {
    return { answer: toAnswer(error), keep: error instanceof SimulatorError && error.stored, effect: null };
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
