import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import { addressOf, networkReason, ServiceError, serviceFailure } from '../../../ops/cli/errors.js';
import { isoTime, nonNegativeInt, positiveInt, positiveSeconds } from '../../../ops/cli/options.js';
import { type CliIo, duration, table, toJson } from '../../../ops/cli/output.js';
import { runCli } from '../../../ops/cli/program.js';
import { estimate, Progress, renderProgress } from '../../../ops/cli/progress.js';

/** An in-memory terminal; env without connection variables, so nothing here can reach a service. */
function memoryIo(env: Record<string, string> = {}, tty = false) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = {
    stdout: { write: (t: string) => out.push(t) },
    stderr: { write: (t: string) => err.push(t), isTTY: tty },
    env,
  };
  return { io, stdout: () => out.join(''), stderr: () => err.join('') };
}

describe('option parsers', () => {
  it('accept whole numbers and refuse the rest with an InvalidArgumentError', () => {
    expect(nonNegativeInt('0')).toBe(0);
    expect(positiveInt('42')).toBe(42);
    for (const bad of ['', '-1', '1.5', 'abc', '1e3', '99999999999999999999']) {
      expect(() => nonNegativeInt(bad), bad).toThrow(InvalidArgumentError);
    }
    expect(() => positiveInt('0')).toThrow(InvalidArgumentError);
    expect(positiveSeconds('0.5')).toBe(0.5);
    expect(() => positiveSeconds('0')).toThrow(InvalidArgumentError);
  });

  it('parse ISO 8601 times and refuse other date formats', () => {
    expect(isoTime('2026-11-25T10:00:00Z').toISOString()).toBe('2026-11-25T10:00:00.000Z');
    expect(isoTime('2026-11-25T10:00:00.123+01:00').toISOString()).toBe('2026-11-25T09:00:00.123Z');
    expect(isoTime('2026-11-25').toISOString()).toBe('2026-11-25T00:00:00.000Z');
    for (const bad of ['yesterday', '25/11/2026', '2026-13-45', '1700000000']) {
      expect(() => isoTime(bad), bad).toThrow(InvalidArgumentError);
    }
  });
});

describe('service errors', () => {
  it('find the socket error code through cause chains and aggregate errors', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    expect(networkReason(refused)).toBe('ECONNREFUSED');
    expect(networkReason(new Error('retries exceeded', { cause: refused }))).toBe('ECONNREFUSED');
    expect(networkReason(new AggregateError([refused], 'all attempts failed'))).toBe('ECONNREFUSED');
    expect(networkReason(new Error('Connection terminated due to connection timeout'))).toBe('timed out');
    expect(networkReason(new Error('password authentication failed'))).toBeNull();
  });

  it('word unreachable and refusing services differently, naming the service and address', () => {
    const down = serviceFailure('PostgreSQL', '127.0.0.1:1', Object.assign(new Error('x'), { code: 'ECONNREFUSED' }));
    expect(down.message).toBe('cannot reach PostgreSQL at 127.0.0.1:1 (ECONNREFUSED)');
    const refusing = serviceFailure('PostgreSQL', 'db:5432', new Error('database "x" does not exist\nmore detail'));
    expect(refusing.message).toBe('PostgreSQL at db:5432 failed: database "x" does not exist');
    expect(serviceFailure('Kafka', 'k:9092', down)).toBe(down);
    expect(down).toBeInstanceOf(ServiceError);
  });

  it('print addresses without credentials or database names', () => {
    expect(addressOf('postgres://user:secret@db.example:6543/app', 5432)).toBe('db.example:6543');
    expect(addressOf('postgres://db.example/app', 5432)).toBe('db.example:5432');
  });
});

describe('output', () => {
  it('turns Avro values into JSON that round-trips', () => {
    const value = { bytes: Buffer.from('hi'), big: 2n ** 60n, when: new Date(0), nested: [{ a: undefined, b: 1 }] };
    const json = toJson(value);
    expect(JSON.parse(JSON.stringify(json))).toEqual({
      bytes: 'aGk=',
      big: '1152921504606846976',
      when: '1970-01-01T00:00:00.000Z',
      nested: [{ b: 1 }],
    });
  });

  it('aligns tables and formats durations', () => {
    expect(table(['A', 'LONGER'], [['xyz', '1']])).toBe('A    LONGER\nxyz  1');
    expect(duration(0.25)).toBe('250ms');
    expect(duration(75)).toBe('1m15s');
    expect(duration(7260)).toBe('2h01m');
  });
});

describe('progress', () => {
  it('estimates rate and time left', () => {
    expect(estimate(50, 100, 10)).toEqual({ rate: 5, etaSeconds: 10 });
    expect(estimate(0, 100, 0).etaSeconds).toBeNull();
    expect(renderProgress('rebuild', 50, 100, 10, 10)).toBe('rebuild [#####-----]  50%  50/100  5/s  eta 10s');
    expect(renderProgress('rebuild', 100, 100, 20, 10)).toContain('100%  100/100  5/s  took 20s');
  });

  it('prints nothing for a short run that is not on a terminal, and a bar on a terminal', () => {
    const plain = memoryIo();
    const p = new Progress(plain.io.stderr, 'x');
    p.update(1, 2);
    p.finish(2, 2);
    expect(plain.stderr()).toBe('');
    const tty = memoryIo({}, true);
    const bar = new Progress(tty.io.stderr, 'x');
    bar.finish(2, 2);
    expect(tty.stderr().startsWith('\r\u001b[Kx [')).toBe(true);
    expect(tty.stderr()).toMatch(/\] 100% {2}2\/2 .*\n$/);
  });
});

describe('invocation errors (no service is contacted)', () => {
  it.each([
    [['nope']],
    [['streams', 'list', '--limit', 'abc']],
    [['streams', 'show']],
    [['streams']],
    [['replay', '--all']],
    [['replay', '--republish']],
    [['replay', '--all', '--republish', '--to-projection', 'ordering.orders']],
    [['replay', '--from-time', 'yesterday', '--republish']],
    [['replay', '--from-position', '9', '--to-position', '3', '--dry-run']],
    [['replay', '--all', '--to-projection', 'no.such.projection']],
    [['projections', 'drop', 'ordering.orders', 'one']],
    [['events', 'show', 'not-a-uuid']],
    [['dlq', 'retry', 'x.dlq.y', '-1']],
  ])('ledger %j exits 2 with the usage on stderr and nothing on stdout', async (argv) => {
    const t = memoryIo({ DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' });
    expect(await runCli(argv, t.io)).toBe(2);
    expect(t.stderr()).toContain('Usage: ledger');
    expect(t.stdout()).toBe('');
  });

  it('--help prints the usage on stdout and exits 0', async () => {
    const t = memoryIo();
    expect(await runCli(['replay', '--help'], t.io)).toBe(0);
    expect(t.stdout()).toContain('Usage: ledger replay [options]');
    expect(t.stdout()).toContain('--republish');
  });

  it('an invalid environment is reported in one line with exit 2', async () => {
    const t = memoryIo({ DATABASE_URL: 'not a url', KAFKA_BROKERS: 'nohostport' });
    expect(await runCli(['outbox', 'status'], t.io)).toBe(2);
    expect(t.stderr()).toMatch(/^ledger: invalid configuration: DATABASE_URL is not a URL .*; KAFKA_BROKERS .*\n$/);
  });
});
