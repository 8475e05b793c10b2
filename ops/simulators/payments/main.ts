import { startPaymentSimulator } from './server.js';

// Runs the payment simulator as a process:
//   PAYMENT_SIMULATOR_PORT (default 12111), PAYMENT_SIMULATOR_HOST (default 127.0.0.1),
//   PAYMENT_WEBHOOK_URL and PAYMENT_WEBHOOK_SECRET (webhooks are sent only when the URL is set),
//   PAYMENT_CONNECT_WEBHOOK_URL and PAYMENT_CONNECT_WEBHOOK_SECRET (default PAYMENT_WEBHOOK_SECRET): where the
//     marketplace's Connect events go (payouts, transfers, contract charges); without it, to PAYMENT_WEBHOOK_URL,
//   PAYMENT_SIMULATOR_SLOW_CARD_MS (default 3000),
//   PAYMENT_SIMULATOR_PAYOUT_DELAY_MS (default 500): how long a payout stays pending before payout.paid/failed.

function integer(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a non-negative integer, got '${raw}'`);
  return value;
}

const webhookUrl = process.env.PAYMENT_WEBHOOK_URL || undefined;
const webhookSecret = process.env.PAYMENT_WEBHOOK_SECRET || undefined;
if (webhookUrl !== undefined && webhookSecret === undefined) {
  throw new Error('PAYMENT_WEBHOOK_SECRET is required when PAYMENT_WEBHOOK_URL is set');
}
const connectWebhookUrl = process.env.PAYMENT_CONNECT_WEBHOOK_URL || undefined;
const connectWebhookSecret = process.env.PAYMENT_CONNECT_WEBHOOK_SECRET || webhookSecret;
if (connectWebhookUrl !== undefined && connectWebhookSecret === undefined) {
  throw new Error(
    'PAYMENT_CONNECT_WEBHOOK_SECRET (or PAYMENT_WEBHOOK_SECRET) is required with PAYMENT_CONNECT_WEBHOOK_URL',
  );
}

const simulator = await startPaymentSimulator({
  port: integer('PAYMENT_SIMULATOR_PORT', 12111),
  host: process.env.PAYMENT_SIMULATOR_HOST || '127.0.0.1',
  webhookUrl,
  webhookSecret,
  slowCardDelayMs: integer('PAYMENT_SIMULATOR_SLOW_CARD_MS', 3000),
  connectWebhookUrl,
  connectWebhookSecret,
  payoutDelayMs: integer('PAYMENT_SIMULATOR_PAYOUT_DELAY_MS', 500),
});
process.stdout.write(
  `payment simulator listening on ${simulator.url}${webhookUrl === undefined ? ' (no webhooks)' : `, webhooks to ${webhookUrl}`}${connectWebhookUrl === undefined ? '' : `, Connect webhooks to ${connectWebhookUrl}`}\n`,
);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void simulator.close().then(() => process.exit(0));
  });
}
