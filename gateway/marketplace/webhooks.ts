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

/**
 * The provider's Connect notice as a command on the worker's wallet (null: nothing to record). A refund is
 * recorded by the escrow process when the provider answers it, so its notice only confirms what is known.
 */
export function walletCommandOf(notification: ConnectNotification): WalletCommand | null {
  switch (notification.kind) {
    case 'payout-paid':
      return {
        type: 'RecordPayoutPaid',
        data: { workerId: notification.workerId, payoutId: notification.payoutId, payoutRef: notification.payoutRef },
      };
    case 'payout-failed':
      return {
        type: 'RecordPayoutFailed',
        data: { workerId: notification.workerId, payoutId: notification.payoutId, reason: notification.reason },
      };
    case 'charge-refunded':
    case 'ignored':
      return null;
  }
}

/** POST /webhooks/marketplace: the provider's signed Connect notices (payouts paid or failed). */
export function marketplaceWebhooksPlugin(deps: MarketplaceWebhookDeps) {
  return signedWebhookPlugin<ConnectNotification>({
    path: '/webhooks/marketplace',
    secret: deps.secret,
    toleranceSeconds: deps.toleranceSeconds,
    verify: verifyConnectWebhook,
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
