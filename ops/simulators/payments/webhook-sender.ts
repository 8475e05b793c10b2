import { createHmac } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

// Webhook delivery as Stripe does it: the event JSON POSTed to the endpoint, signed with the endpoint secret
// (`Stripe-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, re-signed on every attempt), retried
// on a non-2xx answer or a network error. Deliveries run beside the API, never in its way, and in no guaranteed
// order (Stripe promises none either).

export interface StripeEvent {
  readonly id: string;
  readonly object: 'event';
  readonly api_version: string | null;
  readonly created: number;
  readonly data: { readonly object: Record<string, unknown> };
  readonly livemode: false;
  readonly pending_webhooks: number;
  /** Both null for what happened on its own, later (a payout reaching the bank). */
  readonly request: { readonly id: string | null; readonly idempotency_key: string | null };
  readonly type: string;
  /** Connect: the connected account the event happened on (absent for the platform's own events). */
  readonly account?: string;
}

export interface WebhookDelivery {
  /** Which endpoint it went to: ordering's payments webhook or the marketplace's Connect one. */
  readonly endpoint: WebhookEndpointName;
  readonly eventId: string;
  readonly type: string;
  readonly attempts: number;
  readonly status: 'pending' | 'delivered' | 'failed';
  readonly lastError: string | null;
}

type DeliveryRecord = { -readonly [K in keyof WebhookDelivery]: WebhookDelivery[K] };

export type WebhookEndpointName = 'payments' | 'connect';

export interface WebhookSenderOptions {
  readonly endpoint: WebhookEndpointName;
  readonly url: string;
  readonly secret: string;
  /** Waits before each retry; its length is the number of retries. */
  readonly retryDelaysMs: readonly number[];
  readonly attemptTimeoutMs: number;
  /** Aborted when the simulator closes: pending deliveries stop. */
  readonly signal: AbortSignal;
}

export function signStripePayload(payload: string, secret: string, timestamp: number): string {
  const signature = createHmac('sha256', secret).update(`${timestamp}.${payload}`, 'utf8').digest('hex');
  return `t=${timestamp},v1=${signature}`;
}

export class WebhookSender {
  private readonly pending = new Set<Promise<void>>();
  private readonly log: DeliveryRecord[] = [];

  constructor(private readonly options: WebhookSenderOptions) {}

  /** Starts delivering `event` and returns at once. */
  send(event: StripeEvent): void {
    const delivery = this.deliver(event).finally(() => this.pending.delete(delivery));
    this.pending.add(delivery);
  }

  deliveries(): WebhookDelivery[] {
    return this.log.map((entry) => ({ ...entry }));
  }

  clear(): void {
    this.log.length = 0;
  }

  /** Resolves once every delivery started so far (and any started meanwhile) has succeeded or given up. */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  private async deliver(event: StripeEvent): Promise<void> {
    const { url, secret, retryDelaysMs, attemptTimeoutMs, signal } = this.options;
    const body = JSON.stringify(event);
    const entry: DeliveryRecord = {
      endpoint: this.options.endpoint,
      eventId: event.id,
      type: event.type,
      attempts: 0,
      status: 'pending',
      lastError: null,
    };
    this.log.push(entry);
    for (let attempt = 0; attempt <= retryDelaysMs.length; attempt += 1) {
      if (attempt > 0) {
        const waited = await sleep(retryDelaysMs[attempt - 1], true, { signal }).catch(() => false);
        if (!waited) return;
      }
      entry.attempts = attempt + 1;
      try {
        const response = await fetch(url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json; charset=utf-8',
            'stripe-signature': signStripePayload(body, secret, Math.floor(Date.now() / 1000)),
            'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks; ledgerline simulator)',
          },
          body,
          signal: AbortSignal.any([signal, AbortSignal.timeout(attemptTimeoutMs)]),
        });
        await response.arrayBuffer(); // drain, so the connection can be reused
        if (response.ok) {
          entry.status = 'delivered';
          entry.lastError = null;
          return;
        }
        entry.lastError = `HTTP ${response.status}`;
      } catch (error) {
        if (signal.aborted) return;
        entry.lastError = error instanceof Error ? error.message : String(error);
      }
    }
    entry.status = 'failed';
  }
}
