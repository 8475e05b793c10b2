import type { FormObject } from './form.js';
import type { PaymentLedger, Reply, RequestContext } from './ledger.js';
import { allowOnly } from './params.js';

// The subset of Stripe's v1 API the payment adapter uses.

export type SimulatorOperation =
  | 'payment_intents.create'
  | 'payment_intents.retrieve'
  | 'payment_intents.capture'
  | 'payment_intents.cancel'
  | 'refunds.create';

export interface Route {
  readonly method: 'GET' | 'POST';
  readonly pattern: RegExp;
  readonly operation: SimulatorOperation;
  run(ledger: PaymentLedger, id: string, params: FormObject, context: RequestContext): Reply | Promise<Reply>;
}

export const ROUTES: readonly Route[] = [
  {
    method: 'POST',
    pattern: /^\/v1\/payment_intents$/,
    operation: 'payment_intents.create',
    run: (ledger, _id, params, context) => ledger.createIntent(params, context),
  },
  {
    method: 'GET',
    pattern: /^\/v1\/payment_intents\/([^/]+)$/,
    operation: 'payment_intents.retrieve',
    run: (ledger, id, params) => {
      allowOnly(params, ['client_secret']);
      return ledger.retrieveIntent(id);
    },
  },
  {
    method: 'POST',
    pattern: /^\/v1\/payment_intents\/([^/]+)\/capture$/,
    operation: 'payment_intents.capture',
    run: (ledger, id, params) => ledger.capture(id, params),
  },
  {
    method: 'POST',
    pattern: /^\/v1\/payment_intents\/([^/]+)\/cancel$/,
    operation: 'payment_intents.cancel',
    run: (ledger, id, params) => ledger.cancel(id, params),
  },
  {
    method: 'POST',
    pattern: /^\/v1\/refunds$/,
    operation: 'refunds.create',
    run: (ledger, _id, params) => ledger.refund(params),
  },
];

export function findRoute(method: string, path: string): { route: Route; id: string } | null {
  for (const route of ROUTES) {
    if (route.method !== method) continue;
    const match = route.pattern.exec(path);
    if (match !== null) return { route, id: safeDecode(match[1] ?? '') };
  }
  return null;
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment; // malformed escapes: look the raw text up, which simply finds nothing
  }
}
