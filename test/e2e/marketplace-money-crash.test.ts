import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway } from '../../gateway/main.js';
import { type PaymentSimulator, startPaymentSimulator } from '../../ops/simulators/payments/server.js';
import { baseUrlOf } from '../support/gateway.js';
import { marketplaceHttp, milestoneStates } from '../support/marketplace/http.js';
import { startTestSystem, type TestSystem, waitUntil } from '../support/system.js';

// kill -9 of the saga process in the middle of a transfer: the provider has moved the money, its answer has not
// arrived (the simulator holds it back 3 s), the process dies. Restarted, the release step runs again with the
// same idempotency key: the provider answers with the transfer it made, and there is exactly one.

const root = fileURLToPath(new URL('../../', import.meta.url));

let sys: TestSystem;
let gateway: Awaited<ReturnType<typeof startGateway>>;
let sim: PaymentSimulator;
let base: string;
let child: ChildProcess | null = null;

const startSagaProcess = (): ChildProcess =>
  spawn(process.execPath, ['--import', 'tsx', 'sagas/main.ts'], {
    cwd: root,
    env: {
      ...process.env,
      DATABASE_URL: sys.url,
      TOPIC_PREFIX: sys.config.topicPrefix,
      PAYMENT_SIMULATOR_URL: sim.url,
      SAGA_RETRY_BASE_MS: '50',
      // The dead process's claim on the release step lapses after its lease (longer than the held-back answer).
      SAGA_COMMAND_LEASE_MS: '5000',
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });

const stop = async (process: ChildProcess | null, signal: NodeJS.Signals) => {
  if (!process || process.exitCode !== null) return;
  process.kill(signal);
  await new Promise((r) => process.once('exit', r));
};

beforeAll(async () => {
  sys = await startTestSystem('mktcrash');
  gateway = await startGateway(sys.config);
  base = baseUrlOf(gateway.app);
  sim = await startPaymentSimulator({
    port: 0,
    webhookUrl: `${base}/webhooks/payments`,
    connectWebhookUrl: `${base}/webhooks/marketplace`,
    webhookSecret: sys.config.stripeWebhookSecret,
    answerDelayMs: { 'transfers.create': 3000 },
  });
  child = startSagaProcess();
}, 120_000);
afterAll(async () => {
  await stop(child, 'SIGTERM');
  await gateway?.stop();
  await sim?.close();
  await sys?.close();
});

describe('saga process killed with SIGKILL during a transfer', () => {
  it('makes exactly one transfer and finishes the release after a restart', async () => {
    const http = marketplaceHttp(base, gateway.tokens);
    const p = await http.activeContract();
    await http.deliverAndApprove(p, 'm1');
    const transfers = () => sim.calls().filter((c) => c.operation === 'transfers.create');
    // The provider has made the transfer; its answer is held back while the process dies.
    await waitUntil(async () => transfers().length > 0, 30_000, 'the transfer to reach the provider');
    await stop(child, 'SIGKILL');
    child = startSagaProcess();

    const escrow = await http.eventually(
      `contracts/${p.contractId}/escrow`,
      p.worker,
      (e) => milestoneStates(e)[0] === 'RELEASED',
      'the release finished after the restart',
    );
    expect(escrow.totals).toMatchObject({ releasedMinor: 45_000, feesMinor: 5_000 });
    await http.eventually('wallet', p.worker, (w) => w.availableMinor === 45_000, 'the wallet credited once');
    // One transfer took effect; the restarted process's request was answered with it (same key, replayed).
    expect(transfers()).toHaveLength(1);
    const requests = sim.requests().filter((r) => r.operation === 'transfers.create');
    expect(requests.length).toBeGreaterThanOrEqual(2);
    expect(requests.some((r) => r.replayed)).toBe(true);
    expect(new Set(requests.map((r) => r.idempotencyKey)).size).toBe(1);
  }, 180_000);
});
