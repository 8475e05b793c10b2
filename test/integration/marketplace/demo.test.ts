import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openWriteSide } from '../../../commands/write-side.js';
import { marketplace } from '../../../ops/demo/marketplace.js';
import { createTestDatabase, testConfig } from '../../support/env.js';

let database: Awaited<ReturnType<typeof createTestDatabase>>;
let write: Awaited<ReturnType<typeof openWriteSide>>;

beforeAll(async () => {
  database = await createTestDatabase('mktdemo');
  write = await openWriteSide(testConfig(database.url));
});
afterAll(async () => {
  await write?.close();
  await database?.drop();
});

const eventCount = async () => Number((await write.db('events').count({ n: '*' }).first())?.n ?? 0);

describe('marketplace demo data', () => {
  it('makes two jobs, two workers and an application, and appends nothing when loaded again', async () => {
    expect(await marketplace.load(write)).toEqual({ workers: 2, jobs: 2, applications: 1 });
    const after = await eventCount();
    expect(after).toBe(1 + 2 + 2 + 1); // hirer profile, worker profiles, jobs, application
    expect(await marketplace.load(write)).toEqual({ workers: 2, jobs: 0, applications: 0 });
    expect(await eventCount()).toBe(after);
  });
});
