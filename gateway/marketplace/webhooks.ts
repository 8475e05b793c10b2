import type { MarketplaceMoneyCommands } from '../../commands/marketplace/money-handlers.js';
import type { WalletCommand } from '../../commands/marketplace/wallet.js';
import type { ConnectNotification } from '../../sagas/payments/connect-port.js';
import { verifyConnectWebhook } from '../../sagas/payments/connect-webhooks.js';
import { signedWebhookPlugin } from '../signed-webhook.js';

export interface MarketplaceWebhookDeps {
  readonly money: MarketplaceMoneyCommands;
  readonly secret: string;
  readonly toleranceSeconds?: number;
}

/** A Connect notice with the connected account it happened on (Stripe's `event.account`). */
export type AccountNotice = ConnectNotification & { readonly account: string | null };

/**
 * The provider's Connect notice as a command on the worker's wallet (null: nothing to record). The wallet checks
 * the notice is about its own account and payout. A refund is recorded by the escrow process when the provider
 * answers it, so its notice only confirms what is known.
 */
export function walletCommandOf(notice: AccountNotice): WalletCommand | null {
  switch (notice.kind) {
    case 'payout-paid':
      return {
        type: 'RecordPayoutPaid',
        data: {
          workerId: notice.workerId,
          payoutId: notice.payoutId,
          notice: { accountRef: notice.account, payoutRef: notice.payoutRef },
        },
      };
    case 'payout-failed':
      return {
        type: 'RecordPayoutFailed',
        data: {
          workerId: notice.workerId,
          payoutId: notice.payoutId,
          reason: notice.reason,
          notice: { accountRef: notice.account, payoutRef: notice.payoutRef },
        },
      };
    case 'charge-refunded':
    case 'ignored':
      return null;
  }
}

/** POST /webhooks/marketplace: the provider's signed Connect notices (payouts paid or failed). */
export function marketplaceWebhooksPlugin(deps: MarketplaceWebhookDeps) {
  return signedWebhookPlugin<AccountNotice>({
    path: '/webhooks/marketplace',
    secret: deps.secret,
    toleranceSeconds: deps.toleranceSeconds,
    verify: (raw, signature, secret, tolerance) => {
      const { eventId, account, notification } = verifyConnectWebhook(raw, signature, secret, tolerance);
      return { eventId, notification: { ...notification, account } };
    },
    // A payout we do not know (another platform's, or a wallet never opened here).
    notRecorded: 'marketplace webhook not recorded',
    record: async (notification, ctx) => {
      const command = walletCommandOf(notification);
      if (!command) return false;
      await deps.money.recordWallet(command, ctx);
      return true;
    },
  });
}
