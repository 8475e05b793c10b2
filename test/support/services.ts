import { loadConfig } from '../../runtime/config.js';
import { createHealthProbe, type DependencyName } from '../../runtime/health.js';
import { connect } from '../../runtime/postgres.js';

/**
 * Fails fast, naming the service, when a dependency of the test is down, instead of letting the test
 * hang on a client's retries.
 */
export async function requireServices(...names: DependencyName[]): Promise<void> {
  const config = loadConfig();
  // The server, not the application database (tests make their own databases).
  const server = new URL(config.databaseUrl);
  server.pathname = '/postgres';
  const db = connect(server.toString(), { max: 1 });
  const probe = createHealthProbe(config, db);
  try {
    const report = await probe.check();
    const down = names.filter((n) => report[n].status !== 'up');
    if (down.length > 0) {
      throw new Error(
        `${down.map((n) => `${n} is down (${report[n].error})`).join('; ')}: start the stack with "ops/stack up"`,
      );
    }
  } finally {
    await probe.close();
    await db.destroy();
  }
}
