import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { generateSecrets } from '../ops/secrets.js';

// Starts the native stack once per test run (a no-op when it is already up), and gives the run its secrets:
// the configuration has none by default, so each run generates its own (unless the environment sets them).
// Test workers and the processes tests spawn inherit them through the environment.
export default function setup(): void {
  for (const [name, value] of Object.entries(generateSecrets())) process.env[name] ||= value;
  const root = fileURLToPath(new URL('..', import.meta.url));
  const status = spawnSync('bash', ['ops/stack', 'status'], { cwd: root, encoding: 'utf8' });
  if (status.status === 0) return;
  const up = spawnSync('bash', ['ops/stack', 'up'], { cwd: root, stdio: 'inherit' });
  if (up.status !== 0) throw new Error('ops/stack up failed: the integration tests need the real services');
}
