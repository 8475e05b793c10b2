import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

// Starts the native stack once per test run (a no-op when it is already up).
export default function setup(): void {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const status = spawnSync('bash', ['ops/stack', 'status'], { cwd: root, encoding: 'utf8' });
  if (status.status === 0) return;
  const up = spawnSync('bash', ['ops/stack', 'up'], { cwd: root, stdio: 'inherit' });
  if (up.status !== 0) throw new Error('ops/stack up failed: the integration tests need the real services');
}
