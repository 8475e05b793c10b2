// Needs the edits to existing files listed in the notifications report (it uses IdentityCommands.setNotificationPreferences
// and the read side's `notifications`): the whole path, Avro through Kafka to the projection, and the gateway routes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { notificationsReadModel } from '../../projections/identity/notifications.js';
import { bearer, startTestGateway, type TestGateway } from '../support/gateway.js';
import { ctx, placeOrder, seedMenu } from '../support/ordering.js';
import { startTestSystem, type TestSystem } from '../support/system.js';

let sys: TestSystem;
beforeAll(async () => {
  sys = await startTestSystem('notifpipe');
});
afterAll(() => sys?.close());

describe('notifications through the real pipeline', () => {
  it('preferences event → Kafka → projection; order status → rows per enabled channel', async () => {
    const { accountId } = await sys.write.identity.register(
      { email: `n${Date.now()}@example.com`, password: 'correct horse', role: 'customer' },
      ctx('anonymous'),
    );
    const set = await sys.write.identity.setNotificationPreferences(
      { accountId, email: false, push: true },
      ctx(accountId),
    );
    expect(set.version).toBe(2);
    const again = await sys.write.identity.setNotificationPreferences(
      { accountId, email: false, push: true },
      ctx(accountId),
    );
    expect(again.version).toBe(2);
    await expect(
      sys.write.identity.setNotificationPreferences({ accountId: 'ghost', email: false, push: true }, ctx('ghost')),
    ).rejects.toMatchObject({ code: 'ACCOUNT_NOT_FOUND' });
    await sys.read.identity.waiter.waitFor(set.position, notificationsReadModel(1), { timeoutMs: 30_000 });
    expect(await sys.read.identity.notifications.preferences(accountId)).toMatchObject({
      email: false,
      push: true,
      version: 2,
    });

    const menu = await seedMenu(sys.write.ordering);
    const placed = await placeOrder(sys.write.ordering, menu.restaurantId, menu.menuItemIds, accountId);
    await sys.write.ordering.advanceOrder('ConfirmOrder', { orderId: placed.orderId, paymentId: 'p1' }, ctx('saga'));
    await sys.write.ordering.advanceOrder('AcceptOrder', { orderId: placed.orderId }, ctx('owner'));
    await sys.write.ordering.advanceOrder('MarkOrderPreparing', { orderId: placed.orderId }, ctx('owner'));
    const ready = await sys.write.ordering.advanceOrder('MarkOrderReady', { orderId: placed.orderId }, ctx('owner'));
    await sys.read.identity.waiter.waitFor(ready.position, notificationsReadModel(1), { timeoutMs: 30_000 });
    const page = await sys.read.identity.notifications.list(accountId);
    expect(page.items.map((n) => [n.channel, n.kind])).toEqual([
      ['push', 'ORDER_READY'],
      ['push', 'ORDER_PREPARING'],
      ['push', 'ORDER_CONFIRMED'],
      ['push', 'ORDER_PLACED'],
    ]);
    expect(page.items[0]?.body).toBe('Your order is ready for pickup.');
  });
});

describe('notification routes on the real gateway', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway('notifgw');
  });
  afterAll(() => gw?.close());

  it('sets preferences for a registered account, 404 for an unknown one, and reads them', async () => {
    const reg = await gw.post(
      '/auth/register',
      { email: `g${Date.now()}@example.com`, password: 'correct horse', role: 'courier' },
      { 'x-actor-id': '' },
    );
    expect(reg.status).toBe(201);
    const accountId = (reg.body as { accountId: string }).accountId;
    const ok = await gw.post(
      '/commands/identity/set-notification-preferences',
      { email: true, push: false },
      { 'x-actor-id': accountId, 'x-role': 'courier' },
    );
    expect(ok).toMatchObject({ status: 200, body: { streamId: `account-${accountId}`, version: 2 } });
    const missing = await gw.post(
      '/commands/identity/set-notification-preferences',
      { email: true, push: false },
      { 'x-actor-id': 'nobody' },
    );
    expect(missing).toMatchObject({ status: 404, body: { error: { code: 'ACCOUNT_NOT_FOUND' } } });
    const r = await fetch(`${gw.baseUrl}/queries/identity/notification-preferences`, {
      headers: bearer(gw.running.tokens, { 'x-actor-id': accountId }),
    });
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ accountId, email: true, push: true, version: 0 }); // no projector here
    const n = await fetch(`${gw.baseUrl}/queries/identity/notifications?limit=3`, {
      headers: bearer(gw.running.tokens, { 'x-actor-id': accountId }),
    });
    expect(await n.json()).toEqual({ items: [], nextCursor: null });
  });
});
