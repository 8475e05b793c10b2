import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isPoison } from '../../runtime/consumer/failures.js';
import { EventCodec, UndecodableEventError } from '../../schemas/codec.js';
import { createRegistryClient, RegistryUnavailableError } from '../../schemas/registry.js';
import { testConfig } from '../support/env.js';
import { openTestStore, type TestStore } from '../support/store.js';

let t: TestStore;
beforeAll(async () => {
  t = await openTestStore('codec');
});
afterAll(() => t?.close());

/** A Confluent wire-format payload naming a schema id nobody has. */
const unknownSchemaPayload = (): Buffer => {
  const header = Buffer.alloc(5);
  header.writeUInt8(0, 0);
  header.writeUInt32BE(2_000_000_000, 1);
  return Buffer.concat([header, Buffer.from([2, 97])]);
};

describe('decoding an event whose writer schema is not in the store', () => {
  it('is poison when the registry answers that it has no such schema', async () => {
    const codec = new EventCodec(createRegistryClient(testConfig(t.url).registryUrl), t.db);
    const error = await codec.decode(unknownSchemaPayload()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UndecodableEventError);
    expect(isPoison(error)).toBe(true);
  });

  it('is an outage, not poison, when the registry cannot be reached', async () => {
    const codec = new EventCodec(createRegistryClient('http://127.0.0.1:1/apis/ccompat/v7', 2000), t.db);
    const error = await codec.decode(unknownSchemaPayload()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryUnavailableError);
    expect(isPoison(error)).toBe(false);
  });
});
