import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import { wallets } from '../../../commands/marketplace/aggregates.js';
import type { WriteRuntime } from '../../../commands/write-side.js';
import { signStripePayload } from '../../../ops/simulators/payments/webhook-sender.js';
import { applyBody, idOf, jobBody, threeMilestones } from './fixtures.js';
import type { marketplaceHttp, Parties } from './http.js';

// What the adversarial money tests send and look at beyond the marketplace's HTTP helper: raw request bodies
// (JSON.stringify cannot write `-0` or a duplicate key), requests fired at the same instant, Connect webhooks
// signed (or mis-signed) by hand, and the write side's stream versions, to prove that a refusal appended nothing.

export interface RawAnswer {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

const answerOf = async (res: Response): Promise<RawAnswer> => {
  const text = await res.text();
  let body: Record<string, unknown> = {};
  try {
    body = text === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
  } catch {
    body = { unparsed: text };
  }
  return { status: res.status, body };
};

/**
 * A contract in `currency` between the given hirer and worker (a job budgeted in it, applied for, accepted), in
 * FUNDING with its escrow open, as `contractInFunding` makes one for new parties: so one worker can hold contracts
 * with several hirers, in several currencies.
 */
export async function contractBetween(
  http: ReturnType<typeof marketplaceHttp>,
  parties: Omit<Parties, 'contractId'>,
  currency: string,
): Promise<Parties> {
  const budget = { kind: 'FIXED', minMinor: 100_000, maxMinor: 300_000, currency };
  const posted = await http.post('post-job', jobBody({ budget }), parties.hirer);
  if (posted.status !== 201) throw new Error(`post-job answered ${posted.status}: ${JSON.stringify(posted.body)}`);
  const applied = await http.post('apply', applyBody(idOf(posted.body, 'job'), { currency }), parties.worker);
  if (applied.status !== 201) throw new Error(`apply answered ${applied.status}: ${JSON.stringify(applied.body)}`);
  const contractId = idOf(applied.body, 'application');
  const accepted = await http.post(
    'accept-application',
    { applicationId: contractId, milestones: threeMilestones() },
    parties.hirer,
  );
  if (accepted.status !== 200) throw new Error(`accept answered ${accepted.status}: ${JSON.stringify(accepted.body)}`);
  await http.eventually(`contracts/${contractId}/escrow`, parties.hirer, () => true, 'the escrow opened');
  return { ...parties, contractId };
}

/** contractBetween, funded with the simulator's test card and started by the escrow process. */
export async function activeContractBetween(
  http: ReturnType<typeof marketplaceHttp>,
  parties: Omit<Parties, 'contractId'>,
  currency: string,
): Promise<Parties> {
  const p = await contractBetween(http, parties, currency);
  const funded = await http.post(
    'fund-contract',
    { contractId: p.contractId, paymentMethod: '4242424242424242' },
    p.hirer,
  );
  if (funded.status !== 200) throw new Error(`fund-contract answered ${funded.status}: ${JSON.stringify(funded.body)}`);
  await http.eventually(`contracts/${p.contractId}`, p.hirer, (c) => c.status === 'ACTIVE', 'the contract ACTIVE');
  return p;
}

/** POST /commands/marketplace/<command> with the body exactly as written. */
export async function postRaw(base: string, command: string, rawBody: string, token: string): Promise<RawAnswer> {
  const res = await fetch(`${base}/commands/marketplace/${command}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: rawBody,
  });
  return answerOf(res);
}

/** GET a path of the gateway (query string included) as `token`, or with no token at all. */
export async function getAs(base: string, path: string, token: string | null): Promise<RawAnswer> {
  const res = await fetch(`${base}${path}`, token === null ? {} : { headers: { authorization: `Bearer ${token}` } });
  return answerOf(res);
}

/** The machine-readable code of an error answer (`{ error: { code } }`), or null. */
export const codeOf = (answer: RawAnswer): string | null =>
  (answer.body.error as { code?: string } | undefined)?.code ?? null;

/**
 * Runs `n` calls of `fn` released at the same instant: each waits on one shared promise, so none starts its
 * request before every one of them is ready.
 */
export async function atOnce<T>(n: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  let go: () => void = () => {};
  const gate = new Promise<void>((resolve) => {
    go = resolve;
  });
  const runs = Array.from({ length: n }, (_, i) => gate.then(() => fn(i)));
  go();
  return Promise.all(runs);
}

/** Two different requests released at the same instant (see atOnce), answers in the same order. */
export async function bothAtOnce<A, B>(a: () => Promise<A>, b: () => Promise<B>): Promise<[A, B]> {
  const [x, y] = await atOnce<A | B>(2, (i) => (i === 0 ? a() : b()));
  return [x as A, y as B];
}

/** Every stream whose id contains one of `needles`, with its version: equal before and after = nothing appended. */
export async function streamVersions(db: Knex, needles: readonly string[]): Promise<Record<string, number>> {
  const rows: { stream_id: string; version: number }[] = await db('streams')
    .where((q) => {
      for (const needle of needles) q.orWhere('stream_id', 'like', `%${needle}%`);
    })
    .select('stream_id', 'version');
  return Object.fromEntries(rows.map((r) => [r.stream_id, Number(r.version)]));
}

/** A worker's wallet events as the write side stored them, oldest first (type and data). */
export async function walletEvents(
  write: Pick<WriteRuntime, 'store' | 'codec'>,
  workerId: string,
): Promise<{ type: string; data: Record<string, unknown> }[]> {
  const recorded = await write.store.readStream(wallets.streamId(workerId));
  return Promise.all(
    recorded.map(async (r) => {
      const decoded = await write.codec.decode(r.payload);
      return { type: decoded.eventType, data: decoded.data as Record<string, unknown> };
    }),
  );
}

/** A Stripe `payout.*` event on a connected account, shaped as the simulator and Stripe send it. */
export function payoutEvent(input: {
  readonly type: 'payout.paid' | 'payout.failed';
  readonly account: string;
  readonly payoutRef: string;
  readonly amountMinor: number;
  readonly workerId: string;
  readonly payoutId: string;
  readonly currency?: string;
  readonly eventId?: string;
}): Record<string, unknown> {
  const failed = input.type === 'payout.failed';
  return {
    id: input.eventId ?? `evt_adv_${randomBytes(8).toString('hex')}`,
    object: 'event',
    account: input.account,
    api_version: '2024-06-20',
    created: Math.floor(Date.now() / 1000),
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    type: input.type,
    data: {
      object: {
        id: input.payoutRef,
        object: 'payout',
        amount: input.amountMinor,
        currency: (input.currency ?? 'EUR').toLowerCase(),
        status: failed ? 'failed' : 'paid',
        failure_code: failed ? 'account_closed' : null,
        failure_message: failed ? 'The bank account has been closed' : null,
        metadata: { workerId: input.workerId, payoutId: input.payoutId },
      },
    },
  };
}

/**
 * POSTs `event` to /webhooks/marketplace signed with `secret` at `timestampSeconds` (now by default). `tamper`
 * changes the bytes after signing (a body altered in transit); `signature` replaces the header altogether.
 */
export async function deliverWebhook(
  base: string,
  event: unknown,
  options: {
    readonly secret: string;
    readonly timestampSeconds?: number;
    readonly tamper?: (signedBody: string) => string;
    readonly signature?: string | null;
  },
): Promise<RawAnswer> {
  const body = JSON.stringify(event);
  const t = options.timestampSeconds ?? Math.floor(Date.now() / 1000);
  const header = options.signature === undefined ? signStripePayload(body, options.secret, t) : options.signature;
  const res = await fetch(`${base}/webhooks/marketplace`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(header === null ? {} : { 'stripe-signature': header }) },
    body: options.tamper ? options.tamper(body) : body,
  });
  return answerOf(res);
}
