import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uniqueSuffix } from '../support/env.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

// POST /auth/login under the per-account and per-IP login throttle (gateway/identity/login-throttle.ts), through
// the real gateway and Redis. Each test sends from its own loopback address (127.0.0.0/8 is all loopback on
// Linux), so the per-IP counts of one test never reach another's.

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway('e2ethrottle');
});
afterAll(() => gw?.close());

interface Answer {
  readonly status: number;
  readonly retryAfter: string | undefined;
  readonly body: { error?: { code: string; message: string; details: Record<string, unknown> } };
}

let nextHost = 10;
/** A client address of its own for one test. */
const freshAddress = (): string => `127.0.${Math.floor(nextHost / 250)}.${(nextHost++ % 250) + 2}`;

function post(path: string, body: unknown, from: string): Promise<Answer> {
  const url = new URL(path, gw.baseUrl);
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        localAddress: from,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('end', () => {
          const retryAfter = res.headers['retry-after'];
          resolve({
            status: res.statusCode ?? 0,
            retryAfter: retryAfter as string | undefined,
            body: JSON.parse(text),
          });
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

const PASSWORD = 'correct horse battery';
async function account(from: string): Promise<string> {
  const email = `throttle.${uniqueSuffix()}@example.com`;
  expect((await post('/auth/register', { email, password: PASSWORD, role: 'customer' }, from)).status).toBe(201);
  return email;
}
const login = (email: string, password: string, from: string) => post('/auth/login', { email, password }, from);
const wrong = (i: number) => `wrong password ${i}`;

/** What a client sees of an answer, without the seconds it is told to wait (they depend on the moment). */
const seen = (a: Answer) => ({ status: a.status, code: a.body.error?.code, throttled: a.retryAfter !== undefined });

describe('login throttle', () => {
  it('after 60 wrong passwords in a burst, only a handful were checked, and the right one is refused: 429 LOGIN_THROTTLED', async () => {
    const from = freshAddress();
    const email = await account(from);
    const started = Date.now();
    const answers: Answer[] = [];
    for (let i = 0; i < 60; i++) answers.push(await login(email, wrong(i), from));
    const seconds = (Date.now() - started) / 1000;
    expect(answers.slice(0, 5).map((a) => a.status)).toEqual([401, 401, 401, 401, 401]);
    expect(answers[5]?.status).toBe(429);
    // Back-off, not a lock: after the 5 free failures, one more is checked after waits of 1 s, 2 s, 4 s, …
    const checked = answers.filter((a) => a.status === 401).length;
    expect(checked).toBeLessThanOrEqual(5 + Math.ceil(Math.log2(seconds + 1)));
    for (const a of answers.filter((answer) => answer.status !== 401)) {
      expect(a).toMatchObject({
        status: 429,
        retryAfter: expect.stringMatching(/^[1-9]\d*$/),
        body: { error: { code: 'LOGIN_THROTTLED', details: { scope: 'account' } } },
      });
      expect(a.body.error?.details.retryAfterSeconds).toBe(Number(a.retryAfter));
    }
    // The right password, while the wait is on (a 429 telling to wait ≥ 2 s, so more than 1 s is left), is not
    // even checked.
    let last = answers.at(-1)!;
    for (let i = 60; !(last.status === 429 && Number(last.retryAfter) >= 2) && Date.now() - started < 20_000; i++) {
      last = await login(email, wrong(i), from);
    }
    expect(Number(last.retryAfter)).toBeGreaterThanOrEqual(2);
    const right = await login(email, PASSWORD, from);
    expect(right).toMatchObject({ status: 429, body: { error: { code: 'LOGIN_THROTTLED' } } });
  });

  it('throttles an unknown email exactly like a known one: the answers never tell whether the account exists', async () => {
    const known = await account(freshAddress());
    const unknown = `nobody.${uniqueSuffix()}@example.com`;
    const knownFrom = freshAddress();
    const unknownFrom = freshAddress();
    const knownAnswers: Answer[] = [];
    const unknownAnswers: Answer[] = [];
    for (let i = 0; i < 8; i++) {
      knownAnswers.push(await login(known, wrong(i), knownFrom));
      unknownAnswers.push(await login(unknown, wrong(i), unknownFrom));
    }
    expect(unknownAnswers.map(seen)).toEqual(knownAnswers.map(seen));
    expect(knownAnswers.at(-1)).toMatchObject({ status: 429 });
    const strip = (a: Answer) => JSON.stringify(a.body).replace(/\d+/g, 'N');
    expect(unknownAnswers.map(strip)).toEqual(knownAnswers.map(strip));
  });

  it('resets the account’s count on a successful login', async () => {
    const from = freshAddress();
    const email = await account(from);
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 4; i++) expect((await login(email, wrong(i), from)).status).toBe(401);
      expect((await login(email, PASSWORD, from)).status, `round ${round}`).toBe(200);
    }
  });

  it('throttles one address guessing across many accounts, and only that address', async () => {
    const from = freshAddress();
    const answers: Answer[] = [];
    for (let i = 0; i < 25; i++) answers.push(await login(`spray.${i}.${uniqueSuffix()}@example.com`, wrong(i), from));
    expect(answers.slice(0, 20).every((a) => a.status === 401)).toBe(true);
    expect(answers.at(-1)).toMatchObject({
      status: 429,
      body: { error: { code: 'LOGIN_THROTTLED', details: { scope: 'ip' } } },
    });
    const elsewhere = freshAddress();
    const email = await account(elsewhere);
    expect((await login(email, PASSWORD, elsewhere)).status).toBe(200);
  });
});
