import type { ConnectLedger } from './connect-ledger.js';
import type { FormObject } from './form.js';
import type { PaymentLedger, Reply, RequestContext } from './ledger.js';
import { allowOnly } from './params.js';

// The subset of Stripe's v1 API the payment adapters use: ordering's PaymentIntents and refunds, and the
// marketplace's Connect calls (accounts, transfers, reversals, payouts, balance).

export type SimulatorOperation =
  | 'payment_intents.create'
  | 'payment_intents.retrieve'
  | 'payment_intents.capture'
  | 'payment_intents.cancel'
  | 'refunds.create'
  | 'charges.retrieve'
  | 'accounts.create'
  | 'accounts.retrieve'
  | 'transfers.create'
  | 'transfers.retrieve'
  | 'transfers.list'
  | 'transfers.createReversal'
  | 'payouts.create'
  | 'payouts.retrieve'
  | 'balance.retrieve';

/** The simulated books: ordering's PaymentIntents and the marketplace's Connect objects, sharing balances. */
export interface Books {
  readonly payments: PaymentLedger;
  readonly connect: ConnectLedger;
}

export interface Route {
  readonly method: 'GET' | 'POST';
  readonly pattern: RegExp;
  readonly operation: SimulatorOperation;
  /**
   * Whether the route acts on the account a Stripe-Account header names (payouts, balance). Elsewhere the header
   * is refused: the simulator keeps PaymentIntents, refunds and transfers on the platform only.
   */
  readonly onConnectedAccount?: true;
  run(books: Books, id: string, params: FormObject, context: RequestContext): Reply | Promise<Reply>;
}

export const ROUTES: readonly Route[] = [
  {
    method: 'POST',
    pattern: /^\/v1\/payment_intents$/,
    operation: 'payment_intents.create',
    run: ({ payments }, _id, params, context) => payments.createIntent(params, context),
  },
  {
    method: 'GET',
    pattern: /^\/v1\/payment_intents\/([^/]+)$/,
    operation: 'payment_intents.retrieve',
    run: ({ payments }, id, params) => {
      allowOnly(params, ['client_secret']);
      return payments.retrieveIntent(id);
    },
  },
  {
    method: 'POST',
    pattern: /^\/v1\/payment_intents\/([^/]+)\/capture$/,
    operation: 'payment_intents.capture',
    run: ({ payments }, id, params) => payments.capture(id, params),
  },
  {
    method: 'POST',
    pattern: /^\/v1\/payment_intents\/([^/]+)\/cancel$/,
    operation: 'payment_intents.cancel',
    run: ({ payments }, id, params) => payments.cancel(id, params),
  },
  {
    method: 'POST',
    pattern: /^\/v1\/refunds$/,
    operation: 'refunds.create',
    run: ({ payments }, _id, params) => payments.refund(params),
  },
  {
    method: 'GET',
    pattern: /^\/v1\/charges\/([^/]+)$/,
    operation: 'charges.retrieve',
    run: ({ payments }, id, params) => {
      allowOnly(params, []);
      return payments.retrieveCharge(id);
    },
  },
  {
    method: 'POST',
    pattern: /^\/v1\/accounts$/,
    operation: 'accounts.create',
    run: ({ connect }, _id, params) => connect.createAccount(params),
  },
  {
    method: 'GET',
    pattern: /^\/v1\/accounts\/([^/]+)$/,
    operation: 'accounts.retrieve',
    run: ({ connect }, id, params) => {
      allowOnly(params, []);
      return connect.retrieveAccount(id);
    },
  },
  {
    method: 'POST',
    pattern: /^\/v1\/transfers$/,
    operation: 'transfers.create',
    run: ({ connect }, _id, params) => connect.createTransfer(params),
  },
  {
    method: 'GET',
    pattern: /^\/v1\/transfers$/,
    operation: 'transfers.list',
    run: ({ connect }, _id, params) => connect.listTransfers(params),
  },
  {
    method: 'GET',
    pattern: /^\/v1\/transfers\/([^/]+)$/,
    operation: 'transfers.retrieve',
    run: ({ connect }, id, params) => {
      allowOnly(params, []);
      return connect.retrieveTransfer(id);
    },
  },
  {
    method: 'POST',
    pattern: /^\/v1\/transfers\/([^/]+)\/reversals$/,
    operation: 'transfers.createReversal',
    run: ({ connect }, id, params) => connect.reverseTransfer(id, params),
  },
  {
    method: 'POST',
    pattern: /^\/v1\/payouts$/,
    operation: 'payouts.create',
    onConnectedAccount: true,
    run: ({ connect }, _id, params, context) => connect.createPayout(params, context),
  },
  {
    method: 'GET',
    pattern: /^\/v1\/payouts\/([^/]+)$/,
    operation: 'payouts.retrieve',
    onConnectedAccount: true,
    run: ({ connect }, id, params, context) => {
      allowOnly(params, []);
      return connect.retrievePayout(id, context);
    },
  },
  {
    method: 'GET',
    pattern: /^\/v1\/balance$/,
    operation: 'balance.retrieve',
    onConnectedAccount: true,
    run: ({ connect }, _id, params, context) => {
      allowOnly(params, []);
      return connect.retrieveBalance(context);
    },
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
