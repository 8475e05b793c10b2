import Stripe from 'stripe';
import { PermanentProviderError, TransientProviderError } from './port.js';

// What both Stripe adapters share (ordering's PaymentProvider in stripe.ts, the marketplace's ConnectProvider in
// stripe-connect.ts): one way to build the SDK client, and one reading of its errors as transient or permanent.

export interface StripeProviderOptions {
  readonly apiKey: string;
  readonly host?: string;
  readonly port?: number;
  readonly protocol?: 'http' | 'https';
  /** Per request (default 20 s): a slower answer is a TransientProviderError; retry with the same key. */
  readonly timeoutMs?: number;
}

export type StripeError = InstanceType<typeof Stripe.errors.StripeError>;

export function createStripeClient(options: StripeProviderOptions): Stripe {
  return new Stripe(options.apiKey, {
    // Retries belong to the saga (with its backoff and attempt count); the SDK's own would hide them.
    maxNetworkRetries: 0,
    timeout: options.timeoutMs ?? 20_000,
    telemetry: false,
    ...(options.host === undefined ? {} : { host: options.host }),
    ...(options.port === undefined ? {} : { port: options.port }),
    ...(options.protocol === undefined ? {} : { protocol: options.protocol }),
  });
}

/** host, port and protocol for a simulator URL such as http://127.0.0.1:12111. */
export function stripeEndpointOf(url: string): Pick<StripeProviderOptions, 'host' | 'port' | 'protocol'> {
  const parsed = new URL(url);
  const protocol = parsed.protocol === 'https:' ? 'https' : 'http';
  return {
    host: parsed.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: Number(parsed.port || (protocol === 'https' ? 443 : 80)),
    protocol,
  };
}

export const isStripeError = (error: unknown): error is StripeError => error instanceof Stripe.errors.StripeError;

/**
 * Transient: no answer (connection error, timeout), the provider failed (5xx) or asked us to slow down (429), or
 * the same idempotency key is still being processed (409). Everything else would be refused again.
 */
export function providerError(operation: string, error: unknown): TransientProviderError | PermanentProviderError {
  if (!isStripeError(error)) {
    return new PermanentProviderError(`${operation}: ${error instanceof Error ? error.message : String(error)}`, error);
  }
  const status = error.statusCode;
  const detail = `${operation}: ${error.type}${error.code ? ` ${error.code}` : ''}${status ? ` (HTTP ${status})` : ''}: ${error.message}`;
  const transient =
    error instanceof Stripe.errors.StripeConnectionError ||
    error instanceof Stripe.errors.StripeRateLimitError ||
    (status === undefined
      ? error instanceof Stripe.errors.StripeAPIError
      : status >= 500 || status === 429 || status === 409);
  return transient ? new TransientProviderError(detail, error) : new PermanentProviderError(detail, error);
}
