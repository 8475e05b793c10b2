import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { generateSecrets } from '../../ops/secrets.js';
import { type Config, loadConfig } from '../../runtime/config.js';

// The configuration has no default secrets; test/global-setup.ts generates the run's. A file run without it
// (a single file under another project) gets its own here, so loadConfig() works the same in every test.
for (const [name, value] of Object.entries(generateSecrets())) process.env[name] ||= value;

export const uniqueSuffix = (): string => `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;

/** A fresh PostgreSQL database for one test file; drop it when done. */
export async function createTestDatabase(label = 'test'): Promise<{ url: string; drop: () => Promise<void> }> {
  const base = new URL(loadConfig().databaseUrl);
  const name = `ll_${label.replace(/[^a-z0-9]/gi, '').toLowerCase()}_${uniqueSuffix()}`;
  const admin = new URL(base);
  admin.pathname = '/postgres';
  const run = async (sql: string) => {
    const client = new pg.Client({ connectionString: admin.toString() });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await run(`CREATE DATABASE "${name}"`);
  const url = new URL(base);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => run(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`) };
}

/**
 * Configuration pointing at a test database, with a topic prefix no other test uses; the secrets are the run's
 * (generated, see above), never a value from the source.
 */
export function testConfig(databaseUrl: string, overrides: Record<string, string> = {}): Config {
  return loadConfig({
    ...process.env,
    DATABASE_URL: databaseUrl,
    TOPIC_PREFIX: `t${uniqueSuffix()}.`,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    PORT: '0',
    ...overrides,
  });
}
