// Stripe-shaped refusals. The SDK picks its error class from the HTTP status (400/404 invalid request, 401
// authentication, 402 card, 409/5xx API error, 429 rate limit) and `type` (idempotency_error), so both must match.

export type StripeErrorType = 'api_error' | 'card_error' | 'idempotency_error' | 'invalid_request_error';

export interface StripeErrorBody {
  readonly type: StripeErrorType;
  readonly message: string;
  readonly code?: string;
  readonly decline_code?: string;
  readonly param?: string;
  readonly doc_url?: string;
  readonly charge?: string;
  readonly payment_intent?: unknown;
}

/**
 * A refusal. `stored` says whether the idempotency layer keeps it: Stripe saves a response only once the endpoint
 * has begun executing, so parameter validation failures (and requests for unknown objects) can be retried with the
 * same key, while a refusal decided on the object's state is replayed as it was.
 */
export class SimulatorError extends Error {
  constructor(
    readonly status: number,
    readonly body: StripeErrorBody,
    readonly stored: boolean,
  ) {
    super(body.message);
    this.name = 'SimulatorError';
  }
}

const docUrl = (code: string): string => `https://docs.stripe.com/error-codes/${code.replaceAll('_', '-')}`;

/** A parameter is missing, unknown or malformed: nothing ran, nothing is stored. */
export function invalidParam(message: string, param: string, code: string): SimulatorError {
  return new SimulatorError(400, { type: 'invalid_request_error', code, message, param, doc_url: docUrl(code) }, false);
}

export function resourceMissing(kind: string, id: string, param: string): SimulatorError {
  return new SimulatorError(
    404,
    {
      type: 'invalid_request_error',
      code: 'resource_missing',
      message: `No such ${kind}: '${id}'`,
      param,
      doc_url: docUrl('resource_missing'),
    },
    false,
  );
}

/** The object is in a state that forbids the operation (capture a canceled intent, refund an uncaptured one…). */
export function invalidState(
  message: string,
  extra: { readonly code?: string; readonly param?: string; readonly paymentIntent?: unknown } = {},
): SimulatorError {
  const body: StripeErrorBody = {
    type: 'invalid_request_error',
    message,
    ...(extra.code === undefined ? {} : { code: extra.code, doc_url: docUrl(extra.code) }),
    ...(extra.param === undefined ? {} : { param: extra.param }),
    ...(extra.paymentIntent === undefined ? {} : { payment_intent: extra.paymentIntent }),
  };
  return new SimulatorError(400, body, true);
}

export function providerFailure(): SimulatorError {
  return new SimulatorError(
    500,
    {
      type: 'api_error',
      message: 'An unknown error occurred while processing this request (simulated provider failure).',
    },
    true,
  );
}

export function idempotencyMismatch(message: string): SimulatorError {
  return new SimulatorError(400, { type: 'idempotency_error', message }, false);
}

/** Another request with the same key is still running (Stripe answers 409; the client should retry later). */
export function idempotencyKeyInUse(key: string): SimulatorError {
  return new SimulatorError(
    409,
    {
      type: 'invalid_request_error',
      code: 'idempotency_key_in_use',
      message: `There is currently another in-progress request using this Idempotency-Key ('${key}'). Please try again later.`,
      doc_url: docUrl('idempotency_key_in_use'),
    },
    false,
  );
}

export function unauthenticated(): SimulatorError {
  return new SimulatorError(
    401,
    {
      type: 'invalid_request_error',
      message:
        'You did not provide an API key. Provide it in the Authorization header using Bearer auth (e.g. Authorization: Bearer sk_test_...).',
    },
    false,
  );
}

export function unknownRoute(method: string, path: string): SimulatorError {
  return new SimulatorError(
    404,
    { type: 'invalid_request_error', message: `Unrecognized request URL (${method}: ${path}).` },
    false,
  );
}

/** A Stripe-Account header naming an account the platform does not have (Stripe answers 403). */
export function accountInvalid(account: string): SimulatorError {
  return new SimulatorError(
    403,
    {
      type: 'invalid_request_error',
      code: 'account_invalid',
      message: `The provided key does not have access to account '${account}' (or that account does not exist). Application access may have been revoked.`,
      doc_url: docUrl('account_invalid'),
    },
    false,
  );
}

/** An answer the simulator was told to fail with (see PaymentSimulator.injectFailures): nothing ran. */
export function injectedFailure(status: 429 | 500 | 503): SimulatorError {
  const body: StripeErrorBody =
    status === 429
      ? {
          type: 'invalid_request_error',
          code: 'rate_limit',
          message: 'Too many requests hit the API too quickly (simulated).',
          doc_url: docUrl('rate_limit'),
        }
      : { type: 'api_error', message: `The service is temporarily unavailable (simulated HTTP ${status}).` };
  return new SimulatorError(status, body, false);
}

/** The Stripe-Account header on a route the simulator keeps on the platform only. */
export function connectedAccountUnsupported(operation: string): SimulatorError {
  return new SimulatorError(
    400,
    {
      type: 'invalid_request_error',
      message: `The simulator does not take the Stripe-Account header on ${operation}: only payouts and the balance act on a connected account here.`,
    },
    false,
  );
}
