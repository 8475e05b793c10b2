import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isPoison } from '../../runtime/consumer/failures.js';
import { eventSchema } from '../../schemas/catalog.js';
import { EventCodec, InvalidEventTextError, UndecodableEventError } from '../../schemas/codec.js';
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

describe('encoding text', () => {
  let codec: EventCodec;
  beforeAll(async () => {
    const config = testConfig(t.url);
    codec = new EventCodec(createRegistryClient(config.registryUrl), t.db, config.topicPrefix);
    await codec.registerAll();
  });

  const registered = (name: string, line2: string | null = null) => ({
    restaurantId: 'r1',
    ownerId: 'o1',
    name,
    cuisine: 'any',
    address: { line1: '1 Rua', line2, city: 'Lisboa', postalCode: '1000', country: 'PT' },
    registeredAt: '2024-01-01T00:00:00.000Z',
  });

  it.each([
    ['a lone high surrogate', registered('ok\ud800'), '/name'],
    ['a lone low surrogate', registered('\udc00ok'), '/name'],
    ['a high surrogate at the end of a nested string', registered('ok', 'flat \udbff'), '/address/line2'],
    ['NUL', registered('a\u0000b'), '/name'],
  ])('refuses %s: a typed error, nothing encoded', (_what, data, path) => {
    const error = (() => {
      try {
        codec.encode('RestaurantRegistered', data);
      } catch (e) {
        return e;
      }
      return null;
    })();
    expect(error).toBeInstanceOf(InvalidEventTextError);
    expect(error).toMatchObject({
      kind: 'invalid',
      code: 'INVALID_TEXT',
      details: { eventType: 'RestaurantRegistered', path },
    });
  });

  it('encodes well-formed text (surrogate pairs, RTL, combining marks, controls other than NUL) as strict UTF-8', async () => {
    const name = '😀👩‍🍳 \u202eمطعم\u202c e\u0301\ttab\u0007bell';
    const { payload } = codec.encode('RestaurantRegistered', registered(name, `${'x'.repeat(100)}😀`));
    const type = eventSchema('RestaurantRegistered').type;
    const body = payload.subarray(5);
    // A strict decoder reads back exactly these bytes: re-encoding what was decoded gives the same payload.
    expect(type.toBuffer(type.fromBuffer(body)).equals(body)).toBe(true);
    expect((await codec.decode(payload)).data).toMatchObject({ name });
  });
});
