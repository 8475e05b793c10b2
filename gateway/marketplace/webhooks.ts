import type { FastifyInstance } from 'fastify';
import { DomainError } from '../../commands/decider.js';
import type { MarketplaceMoneyCommands } from '../../commands/marketplace/money-handlers.js';
import type { WalletCommand } from '../../commands/marketplace/wallet.js';
import { isPublishedSecret } from '../../runtime/config.js';
import type { ConnectNotification } from '../../sagas/payments/connect-port.js';
import { verifyConnectWebhook } from '../../sagas/payments/connect-webhooks.js';
import { WebhookSignatureError } from '../../sagas/payments/port.js';
import { body } from '../errors.js';

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

/**
 * POST /webhooks/marketplace: the provider's signed Connect notices (payouts paid or failed). As
 * /webhooks/payments: the signature is checked on the raw bytes first (400 and nothing recorded when it fails),
 * and the provider's event id is the idempotency key.
 */
export function marketplaceWebhooksPlugin(deps: MarketplaceWebhookDeps) {
  if (deps.secret === '' || isPublishedSecret(deps.secret))
    throw new Error('refusing an empty webhook secret or one published in the source; set STRIPE_WEBHOOK_SECRET');
  return async (app: FastifyInstance): Promise<void> => {
    app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, raw, done) => done(null, raw));
    app.post('/webhooks/marketplace', async (request, reply) => {
      const signature = request.headers['stripe-signature'];
      let verified: ReturnType<typeof verifyConnectWebhook>;
      try {
        verified = verifyConnectWebhook(
          request.body as Buffer,
          typeof signature === 'string' ? signature : undefined,
          deps.secret,
          deps.toleranceSeconds ?? 300,
        );
      } catch (error) {
        if (error instanceof WebhookSignatureError) return reply.status(400).send(body(error.code, error.message));
        return reply.status(400).send(body('INVALID_WEBHOOK', 'the webhook payload could not be read'));
      }
      const command = walletCommandOf(verified.notification);
      if (!command) return { received: true, recorded: false };
      try {
        await deps.money.recordWallet(command, {
          actor: 'provider:payments',
          correlationId: request.id,
          traceId: request.traceId || undefined,
          causationId: verified.eventId,
          idempotencyKey: `webhook:${verified.eventId}`,
        });
      } catch (error) {
        // A payout we do not know (another platform's, or a wallet never opened here): acknowledged, logged.
        if (!(error instanceof DomainError)) throw error;
        request.log.warn(
          { eventId: verified.eventId, code: error.code, err: error },
          'marketplace webhook not recorded',
        );
        return { received: true, recorded: false, reason: error.code };
      }
      return { received: true, recorded: true };
    });
  };
}
