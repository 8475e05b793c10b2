import type { AddressInfo } from 'node:net';
import { startGateway } from '../../gateway/main.js';
import type { TokenService } from '../../gateway/tokens.js';
import type { Config } from '../../runtime/config.js';
import type { Role } from '../../runtime/roles.js';
import { createTestDatabase, testConfig } from './env.js';

export interface TestGateway {
  readonly baseUrl: string;
  readonly running: Awaited<ReturnType<typeof startGateway>>;
  post(path: string, body: unknown, headers?: Record<string, string>): Promise<{ status: number; body: unknown }>;
  eventCount(): Promise<number>;
  close(): Promise<void>;
}

/** The real gateway on an ephemeral port, on its own database and topic prefix. */
export async function startTestGateway(label: string, overrides: Partial<Config> = {}): Promise<TestGateway> {
  const database = await createTestDatabase(label);
  const running = await startGateway({ ...testConfig(database.url), ...overrides });
  const baseUrl = baseUrlOf(running.app);
  return {
    baseUrl,
    running,
    async post(path, body, headers = {}) {
      const response = await fetch(`${baseUrl}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...bearer(running.tokens, headers) },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
      return { status: response.status, body: await response.json() };
    },
    async eventCount() {
      const row = await running.write.db('events').count({ n: '*' }).first();
      return Number(row?.n ?? 0);
    },
    async close() {
      await running.stop();
      await database.drop();
    },
  };
}

/** The URL of a gateway listening on an ephemeral port. */
export const baseUrlOf = (app: { server: { address(): unknown } }): string =>
  `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;

/**
 * Tests name the caller with `x-actor-id` (default customer-1) and `x-role` (default customer); this turns them
 * into a real access token signed by the gateway's own key. An empty x-actor-id sends no token at all.
 */
export function bearer(tokens: TokenService, headers: Record<string, string>): Record<string, string> {
  const { 'x-actor-id': actor = 'customer-1', 'x-role': role = 'customer', ...rest } = headers;
  if (!actor) return rest;
  return { authorization: `Bearer ${tokens.accessToken({ accountId: actor, role: role as Role })}`, ...rest };
}
