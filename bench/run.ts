// The benchmark harness: `npm run bench [-- --quick] [-- --only <suite>[,<suite>]]`.
// Runs the suites one after another (they would compete for the same two cores otherwise), prints one table
// on stdout, and writes bench/results/<timestamp>.json and bench/results/latest.md. Progress goes to stderr.
import { mkdir, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { generateSecrets } from '../ops/secrets.js';
import { machineBusyPercent } from './lib/cpu.js';
import { describeMachine, type Machine } from './lib/machine.js';
import { progress, within } from './lib/progress.js';
import type { Suite } from './lib/suite.js';
import { errorRow, type Row, renderMarkdown, renderText } from './lib/table.js';
import { appendSuite } from './suites/append.js';
import { E2E_LIMIT_MS, e2eSuite } from './suites/e2e.js';
import { gatewaySuite } from './suites/gateway.js';
import { marketplaceSuite } from './suites/marketplace.js';
import { projectionsSuite } from './suites/projections.js';
import { rebuildSuite } from './suites/rebuild.js';
import { relayDrainSuite } from './suites/relay-drain.js';
import { relayLatencySuite } from './suites/relay-latency.js';
import { sseFanoutSuite } from './suites/sse-fanout.js';

const SUITES: readonly Suite[] = [
  appendSuite,
  relayLatencySuite,
  relayDrainSuite,
  projectionsSuite,
  rebuildSuite,
  gatewaySuite,
  sseFanoutSuite,
  marketplaceSuite,
  e2eSuite,
];
const RESULTS = new URL('./results/', import.meta.url);

/** Whatever happens, the harness ends: well above the expected run time, it gives up and says so. */
const WATCHDOG_MS = { quick: 4 * 60_000, full: 12 * 60_000 };
/** One suite that hangs (a dependency that stops answering) costs its own rows, not the whole run's. */
const SUITE_LIMIT_MS = { quick: 2 * 60_000, full: 4 * 60_000 };
/**
 * Suites that need longer than that, and get exactly their own limit: e2e starts the whole system twice and holds
 * each load step for a minute. The watchdog grows by what they add beyond the common limit.
 */
const OWN_LIMIT_MS: Readonly<Record<string, { readonly quick: number; readonly full: number }>> = {
  e2e: E2E_LIMIT_MS,
};
const BUSY_WARNING_PERCENT = 20;

interface Options {
  readonly quick: boolean;
  readonly suites: readonly Suite[];
}

function parseOptions(argv: readonly string[]): Options {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string', multiple: true },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  const names = SUITES.map((s) => s.name);
  if (values.help) {
    process.stderr.write(`usage: npm run bench -- [--quick] [--only <${names.join('|')}>[,...]]\n`);
    process.exit(0);
  }
  const only = (values.only ?? []).flatMap((v) => v.split(',')).map((v) => v.trim());
  const unknown = only.filter((name) => !names.includes(name));
  if (unknown.length > 0) throw new Error(`unknown suite ${unknown.join(', ')}; suites: ${names.join(', ')}`);
  return { quick: values.quick, suites: only.length > 0 ? SUITES.filter((s) => only.includes(s.name)) : SUITES };
}

/** ISO 8601 basic format (20261125T124003Z): a valid timestamp that is also a portable file name. */
const fileStamp = (date: Date): string =>
  `${date
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')}`;

interface RunInfo {
  readonly options: Options;
  readonly startedAt: Date;
  readonly seconds: number;
  readonly busyBefore: number | null;
}

/** Each suite's notes, prefixed with its name: what the table alone would leave unexplained. */
type Note = { readonly suite: string; readonly text: string };
const renderNotes = (notes: readonly Note[], bullet: string): string[] =>
  notes.length === 0 ? [] : ['Notes:', ...notes.map((n) => `${bullet}${n.suite}: ${n.text}`)];

function markdown(rows: readonly Row[], notes: readonly Note[], machine: Machine, run: RunInfo): string {
  const { options, startedAt, seconds, busyBefore } = run;
  const versions = Object.entries(machine.versions)
    .map(([name, version]) => `${name} ${version}`)
    .join(', ');
  return [
    '# Ledgerline benchmarks',
    '',
    `Run ${startedAt.toISOString()} (${options.quick ? 'quick' : 'full'}, ${seconds.toFixed(0)} s; suites: ` +
      `${options.suites.map((s) => s.name).join(', ')}).`,
    '',
    `Machine: ${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGiB} GiB memory, Linux ${machine.kernel}` +
      (busyBefore === null ? '.' : `; ${busyBefore.toFixed(0)}% busy in the second before the run.`),
    '',
    `Versions: ${versions}.`,
    '',
    renderMarkdown(rows),
    '',
    ...(notes.length > 0 ? [...renderNotes(notes, '- '), ''] : []),
    'Ratio is ours ÷ baseline for every row (higher is better for events/s and requests/s, lower for ms). ' +
      'See bench/README.md for what each row measures and how each baseline is run.',
    '',
  ].join('\n');
}

async function main(): Promise<number> {
  // The configuration has no secrets by default; the bench signs tokens, so it makes its own for the run.
  for (const [name, value] of Object.entries(generateSecrets())) process.env[name] ||= value;
  const options = parseOptions(process.argv.slice(2));
  const mode = options.quick ? 'quick' : 'full';
  const extraMs = options.suites
    .map((s) => OWN_LIMIT_MS[s.name]?.[mode] ?? SUITE_LIMIT_MS[mode])
    .reduce((sum, limit) => sum + Math.max(0, limit - SUITE_LIMIT_MS[mode]), 0);
  const watchdog = setTimeout(() => {
    process.stderr.write('bench: watchdog expired; giving up (databases named ll_bench_* may be left behind)\n');
    process.exit(2);
  }, WATCHDOG_MS[mode] + extraMs);
  watchdog.unref();
  const startedAt = new Date();
  const [machine, busyBefore] = await Promise.all([describeMachine(), machineBusyPercent(1000)]);
  progress('bench', `${machine.cores} cores, ${machine.memoryGiB} GiB; ${options.quick ? 'quick' : 'full'} run`);
  // Every suite shares the cores with whatever else runs here; a busy machine is worth knowing about up front.
  if (busyBefore !== null && busyBefore > BUSY_WARNING_PERCENT) {
    progress('bench', `warning: the machine was ${busyBefore.toFixed(0)}% busy before the run; expect noise`);
  }
  const rows: Row[] = [];
  const notes: Note[] = [];
  const details: Record<string, unknown> = {};
  for (const suite of options.suites) {
    const began = performance.now();
    try {
      const limit = OWN_LIMIT_MS[suite.name]?.[mode] ?? SUITE_LIMIT_MS[mode];
      const result = await within(suite.run({ quick: options.quick }), limit, `suite ${suite.name}`);
      rows.push(...result.rows);
      notes.push(...(result.notes ?? []).map((text) => ({ suite: suite.name, text })));
      details[suite.name] = result.details;
    } catch (error) {
      // One broken suite should not cost the others' results; its row says what went wrong.
      const message = error instanceof Error ? error.message : String(error);
      progress(suite.name, `failed: ${error instanceof Error ? (error.stack ?? message) : message}`);
      rows.push(errorRow(suite.name, message));
      details[suite.name] = { error: message };
    }
    progress(suite.name, `done in ${((performance.now() - began) / 1000).toFixed(1)} s`);
  }
  const seconds = (Date.now() - startedAt.getTime()) / 1000;
  process.stdout.write(
    `${[renderText(rows), ...(notes.length > 0 ? ['', ...renderNotes(notes, '  - ')] : [])].join('\n')}\n`,
  );
  await mkdir(RESULTS, { recursive: true });
  const json = new URL(`${fileStamp(startedAt)}.json`, RESULTS);
  const report = {
    startedAt: startedAt.toISOString(),
    seconds,
    mode: options.quick ? 'quick' : 'full',
    suites: options.suites.map((s) => s.name),
    machine,
    machineBusyPercentBefore: busyBefore,
    rows,
    notes,
    details,
  };
  await writeFile(json, `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(
    new URL('latest.md', RESULTS),
    markdown(rows, notes, machine, { options, startedAt, seconds, busyBefore }),
  );
  progress('bench', `wrote ${json.pathname} and bench/results/latest.md`);
  return rows.some((r) => r.verdict === 'ERROR') ? 1 : 0;
}

// Exit explicitly: a client library's idle timer must not keep a finished benchmark alive.
main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
