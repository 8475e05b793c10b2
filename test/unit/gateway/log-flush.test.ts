import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// runtime/log.ts writes asynchronously (issue 14: cheap request logging); a process that exits straight after
// logging must not lose the buffered lines.

const fixture = fileURLToPath(new URL('./fixtures/log-and-exit.ts', import.meta.url));

function run(lines: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', fixture, String(lines)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      out += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`exited with ${code}`))));
  });
}

describe('asynchronous logging', () => {
  it('writes every line logged before process.exit', async () => {
    // ~5 MB through a pipe of 64 KB: most lines are still buffered when the process exits.
    const lines = 20_000;
    const out = await run(lines);
    const parsed = out
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { i: number });
    expect(parsed).toHaveLength(lines);
    expect(parsed.at(-1)?.i).toBe(lines - 1);
  }, 60_000);
});
