import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway } from '../../gateway/main.js';
import { serveMetrics } from '../../runtime/metrics-server.js';
import { createTestDatabase, testConfig } from '../support/env.js';
import { baseUrlOf } from '../support/gateway.js';

let gateway: Awaited<ReturnType<typeof startGateway>>;
let base: string;
let drop: () => Promise<void>;
let metricsServer: Server;
let metricsBase: string;

beforeAll(async () => {
  const database = await createTestDatabase('docs');
  drop = database.drop;
  const registry = new Registry();
  gateway = await startGateway(testConfig(database.url), registry);
  base = baseUrlOf(gateway.app);
  // As runUntilSignal (METRICS_PORT) and the quick start serve it: its own listener, never the API port.
  metricsServer = await serveMetrics(registry, 0);
  metricsBase = `http://127.0.0.1:${(metricsServer.address() as AddressInfo).port}`;
});
afterAll(async () => {
  metricsServer?.close();
  await gateway?.stop();
  await drop?.();
});

describe('OpenAPI, metrics and probes', () => {
  it('serves an OpenAPI document generated from the route schemas, and its browsable UI', async () => {
    const spec = (await (await fetch(`${base}/docs/json`)).json()) as {
      openapi: string;
      paths: Record<string, unknown>;
    };
    expect(spec.openapi).toMatch(/^3\./);
    for (const path of [
      '/commands/ordering/place-order',
      '/queries/ordering/orders/{orderId}',
      '/auth/login',
      '/webhooks/payments',
    ]) {
      expect(Object.keys(spec.paths), path).toContain(path);
    }
    const ui = await fetch(`${base}/docs/`);
    expect(ui.status).toBe(200);
    expect(await ui.text()).toMatch(/swagger/i);
  });

  it('keeps /metrics off the API port (issue 12: it showed per-route traffic to anyone)', async () => {
    const res = await fetch(`${base}/metrics`);
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: { code: 'ROUTE_NOT_FOUND' } });
  });

  it('exposes request latency and command counts to Prometheus on the metrics port', async () => {
    await fetch(`${base}/commands/ordering/place-order`, { method: 'POST' });
    const metrics = await (await fetch(`${metricsBase}/metrics`)).text();
    expect(metrics).toMatch(/http_request_duration_seconds_bucket\{[^}]*route="\/commands\/ordering\/place-order"/);
    expect(metrics).toMatch(/commands_total\{command="ordering\/place-order",result="401"\} 1/);
  });

  it('answers /ready with every dependency', async () => {
    const res = await fetch(`${base}/ready`);
    const body = (await res.json()) as { ready: boolean; dependencies: Record<string, { status: string }> };
    expect(Object.keys(body.dependencies).sort()).toEqual(['kafka', 'postgres', 'redis', 'schemaRegistry', 'search']);
    expect(res.status).toBe(body.ready ? 200 : 503);
  });
});
