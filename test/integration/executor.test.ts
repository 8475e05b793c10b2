import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DomainError } from '../../commands/decider.js';
import { restaurants } from '../../commands/ordering/aggregates.js';
import { decideRestaurant, initialRestaurant } from '../../commands/ordering/restaurant.js';
import { openWriteSide, type WriteSide } from '../../commands/write-side.js';
import { createTestDatabase, testConfig } from '../support/env.js';
import { address, ctx } from '../support/ordering.js';

let write: WriteSide;
let drop: () => Promise<void>;
beforeAll(async () => {
  const database = await createTestDatabase('executor');
  drop = database.drop;
  write = await openWriteSide(testConfig(database.url));
});
afterAll(async () => {
  await write?.close();
  await drop?.();
});

describe('command executor', () => {
  it('loads a stream longer than one page and decides on its true state', async () => {
    const restaurantId = randomUUID();
    await write.ordering.registerRestaurant({ restaurantId, name: 'Long', cuisine: 'x', address }, ctx('owner'));
    // 2,400 open/close events, appended in batches (as if over years of service).
    let version = 1;
    for (let batch = 0; batch < 24; batch++) {
      const events = Array.from({ length: 100 }, (_, i) => {
        const open = (batch * 100 + i) % 2 === 0;
        const type = open ? 'RestaurantOpened' : 'RestaurantClosed';
        const data = open
          ? { restaurantId, openedAt: new Date().toISOString() }
          : { restaurantId, closedAt: new Date().toISOString() };
        return { eventId: randomUUID(), eventType: type, ...write.codec.encode(type, data) };
      });
      const result = await write.store.append({
        streamId: restaurants.streamId(restaurantId),
        streamType: restaurants.streamType,
        expectedVersion: version,
        events,
        metadata: { correlationId: 'c', causationId: null, actor: 'test' },
      });
      version = result.version;
    }
    const loaded = await write.executor.load(restaurants, restaurantId);
    expect(loaded.version).toBe(2401);
    expect(loaded.state.status).toBe('closed'); // the last of 2,400 alternating events is a close
    // Deciding on the true state: opening a closed restaurant appends the 2,402nd event.
    const opened = await write.ordering.openRestaurant({ restaurantId }, ctx('owner'));
    expect(opened.version).toBe(2402);
  });

  // The window: a retry looks up its key (nothing yet), the first request commits, the retry loads the stream
  // with the first request's events in it. Its decision then refuses (already registered) or appends nothing;
  // either way the client must get the first request's stored response, not an error.
  it('answers a retry whose key committed after its first look with the stored response', async () => {
    const restaurantId = randomUUID();
    const data = { restaurantId, ownerId: 'owner', name: 'Race', cuisine: 'x', address: { ...address, line2: null } };
    const context = { ...ctx('owner'), idempotencyKey: `key-${randomUUID()}`, request: { data } };
    const register = (now: Date) => decideRestaurant({ type: 'RegisterRestaurant', data }, initialRestaurant(), now);
    let first: Awaited<ReturnType<typeof write.executor.execute>> | undefined;
    const retry = await write.executor.execute(
      restaurants,
      restaurantId,
      async (_state, now) => {
        first = await write.executor.execute(restaurants, restaurantId, (_s, at) => register(at), context);
        throw new DomainError('RESTAURANT_EXISTS', 'already registered');
      },
      context,
    );
    expect(retry).toEqual(first);
    expect(await write.store.streamVersion(restaurants.streamId(restaurantId))).toBe(1);
  });
});
