import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommandResult } from '../../commands/executor.js';
import { restaurants } from '../../commands/ordering/aggregates.js';
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

  // The window: a retry looks up its key (nothing yet), then the first request commits, then the retry loads the
  // stream with the first request's events in it. The client must get the first request's response, whatever
  // the retry's own load and decision would say. The hook holds that window open deterministically.
  function commitBeforeNextLoad(first: () => Promise<CommandResult>): Promise<CommandResult> {
    const load = write.executor.load.bind(write.executor);
    return new Promise((resolve, reject) => {
      write.executor.load = (async (...args: Parameters<typeof load>) => {
        write.executor.load = load;
        await first().then(resolve, reject);
        return load(...args);
      }) as typeof load;
    });
  }

  it('answers a retry that would now be refused (already registered) with the stored response', async () => {
    const restaurantId = randomUUID();
    const context = { ...ctx('owner'), idempotencyKey: `key-${randomUUID()}`, request: { restaurantId } };
    const register = () =>
      write.ordering.registerRestaurant({ restaurantId, name: 'Race', cuisine: 'x', address }, context);
    const first = commitBeforeNextLoad(register);
    const retry = await register();
    expect(retry).toEqual(await first);
    expect(await write.store.streamVersion(restaurants.streamId(restaurantId))).toBe(1);
  });

  it('answers a retry whose If-Match is now stale with the stored response, not 409', async () => {
    const restaurantId = randomUUID();
    await write.ordering.registerRestaurant({ restaurantId, name: 'Race', cuisine: 'x', address }, ctx('owner'));
    const context = {
      ...ctx('owner'),
      idempotencyKey: `key-${randomUUID()}`,
      request: { restaurantId },
      expectedVersion: 1,
    };
    const first = commitBeforeNextLoad(() => write.ordering.openRestaurant({ restaurantId }, context));
    const retry = await write.ordering.openRestaurant({ restaurantId }, context);
    expect(retry).toEqual(await first);
    expect(retry.version).toBe(2);
    expect(await write.store.streamVersion(restaurants.streamId(restaurantId))).toBe(2);
  });
});
