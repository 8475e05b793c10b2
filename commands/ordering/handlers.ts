import { randomUUID } from 'node:crypto';
import { DomainError } from '../decider.js';
import type { CommandContext, CommandExecutor, CommandResult } from '../executor.js';
import { menuItems, orders, payments, restaurants } from './aggregates.js';
import { type MenuItem, menuItemDecider } from './menu-item.js';
import { type OrderCommand, orderDecider } from './order.js';
import { type PaymentCommand, paymentDecider } from './payment.js';
import { type Address, type Restaurant, restaurantDecider } from './restaurant.js';

// The ordering context's command handlers: each one loads what its decider needs, decides, appends.
// Inputs arrive validated against the gateway's JSON schemas.

export interface RegisterRestaurantInput {
  restaurantId?: string;
  name: string;
  cuisine: string;
  address: Address;
}
export interface AddMenuItemInput {
  restaurantId: string;
  menuItemId?: string;
  name: string;
  description: string;
  priceMinor: number;
  currency: string;
}
export interface PlaceOrderInput {
  orderId?: string;
  restaurantId: string;
  items: { menuItemId: string; quantity: number }[];
  payment: { card: string };
  deliveryAddress: Address;
}

type OrderStep = Exclude<OrderCommand['type'], 'PlaceOrder' | 'CancelOrder'>;

const COURIER_STEPS: readonly OrderStep[] = ['MarkOrderPickedUp', 'MarkOrderDelivered'];

/** Calls without a role come from inside the system (sagas, demo data); admins may act on anything. */
const isTrusted = (ctx: CommandContext): boolean => ctx.role === undefined || ctx.role === 'admin';

/** Another account's order is reported as missing, not forbidden: its existence is not theirs to learn. */
const notFound = (orderId: string) =>
  new DomainError('not_found', 'ORDER_NOT_FOUND', `order ${orderId} does not exist`, { orderId });

function assertOwner(restaurant: Restaurant, ctx: CommandContext): void {
  if (isTrusted(ctx) || restaurant.status === 'none') return; // an unknown restaurant is the decider's refusal
  if (restaurant.ownerId !== ctx.actor) {
    throw new DomainError('forbidden', 'NOT_RESTAURANT_OWNER', "only the restaurant's owner may do this", {
      restaurantId: restaurant.restaurantId,
    });
  }
}

export class OrderingCommands {
  constructor(private readonly executor: CommandExecutor) {}

  registerRestaurant(input: RegisterRestaurantInput, ctx: CommandContext): Promise<CommandResult> {
    const restaurantId = input.restaurantId ?? randomUUID();
    const data = {
      restaurantId,
      ownerId: ctx.actor,
      name: input.name,
      cuisine: input.cuisine,
      address: { ...input.address, line2: input.address.line2 ?? null },
    };
    return this.executor.execute(
      restaurants,
      restaurantId,
      (state, now) => restaurantDecider.decide({ type: 'RegisterRestaurant', data }, state, { now }),
      ctx,
    );
  }

  openRestaurant(input: { restaurantId: string }, ctx: CommandContext): Promise<CommandResult> {
    return this.executor.execute(
      restaurants,
      input.restaurantId,
      (state, now) => {
        assertOwner(state, ctx);
        return restaurantDecider.decide({ type: 'OpenRestaurant', data: input }, state, { now });
      },
      ctx,
    );
  }

  closeRestaurant(input: { restaurantId: string }, ctx: CommandContext): Promise<CommandResult> {
    return this.executor.execute(
      restaurants,
      input.restaurantId,
      (state, now) => {
        assertOwner(state, ctx);
        return restaurantDecider.decide({ type: 'CloseRestaurant', data: input }, state, { now });
      },
      ctx,
    );
  }

  updateRestaurantDetails(
    input: { restaurantId: string; name: string; cuisine: string; address: Address },
    ctx: CommandContext,
  ): Promise<CommandResult> {
    const data = { ...input, address: { ...input.address, line2: input.address.line2 ?? null } };
    return this.executor.execute(
      restaurants,
      input.restaurantId,
      (state, now) => {
        assertOwner(state, ctx);
        return restaurantDecider.decide({ type: 'UpdateRestaurantDetails', data }, state, { now });
      },
      ctx,
    );
  }

  addMenuItem(input: AddMenuItemInput, ctx: CommandContext): Promise<CommandResult> {
    const menuItemId = input.menuItemId ?? randomUUID();
    const data = { ...input, menuItemId };
    return this.executor.execute(
      menuItems,
      menuItemId,
      async (state, now) => {
        const restaurant = (await this.executor.load(restaurants, input.restaurantId)).state;
        assertOwner(restaurant, ctx);
        return menuItemDecider.decide({ type: 'AddMenuItem', data }, state, { now, restaurant });
      },
      ctx,
    );
  }

  changeMenuItemPrice(input: { menuItemId: string; priceMinor: number }, ctx: CommandContext): Promise<CommandResult> {
    return this.executor.execute(
      menuItems,
      input.menuItemId,
      async (state, now) => {
        await this.assertOwnsRestaurantOf(state.status === 'none' ? null : state.restaurantId, ctx);
        return menuItemDecider.decide({ type: 'ChangeMenuItemPrice', data: input }, state, { now });
      },
      ctx,
    );
  }

  setMenuItemAvailability(
    input: { menuItemId: string; available: boolean },
    ctx: CommandContext,
  ): Promise<CommandResult> {
    return this.executor.execute(
      menuItems,
      input.menuItemId,
      async (state, now) => {
        await this.assertOwnsRestaurantOf(state.status === 'none' ? null : state.restaurantId, ctx);
        return menuItemDecider.decide({ type: 'SetMenuItemAvailability', data: input }, state, { now });
      },
      ctx,
    );
  }

  removeMenuItem(input: { menuItemId: string }, ctx: CommandContext): Promise<CommandResult> {
    return this.executor.execute(
      menuItems,
      input.menuItemId,
      async (state, now) => {
        await this.assertOwnsRestaurantOf(state.status === 'none' ? null : state.restaurantId, ctx);
        return menuItemDecider.decide({ type: 'RemoveMenuItem', data: input }, state, { now });
      },
      ctx,
    );
  }

  placeOrder(input: PlaceOrderInput, ctx: CommandContext): Promise<CommandResult> {
    const orderId = input.orderId ?? randomUUID();
    const card = input.payment.card.replace(/\s+/g, '');
    const data = {
      orderId,
      restaurantId: input.restaurantId,
      customerId: ctx.actor,
      items: input.items,
      deliveryAddress: { ...input.deliveryAddress, line2: input.deliveryAddress.line2 ?? null },
      // A payment method id (pm_…) with Stripe; with the simulator, a test card number may stand in for one.
      paymentMethod: { cardLast4: /^\d{12,19}$/.test(card) ? card.slice(-4) : '', cardToken: card },
    };
    return this.executor.execute(
      orders,
      orderId,
      async (state, now) => {
        // The menu is read as of now; a concurrent price change is a race the customer accepted by ordering.
        const restaurant = (await this.executor.load(restaurants, input.restaurantId)).state;
        const ids = [...new Set(input.items.map((i) => i.menuItemId))];
        const loaded = await Promise.all(ids.map((id) => this.executor.load(menuItems, id)));
        const items = new Map<string, MenuItem>(ids.map((id, i) => [id, loaded[i]!.state]));
        return orderDecider.decide({ type: 'PlaceOrder', data }, state, { now, menu: { restaurant, items } });
      },
      ctx,
    );
  }

  /** Accept, mark preparing / ready / picked up / delivered, confirm, reject: one step of the lifecycle. */
  advanceOrder(
    type: OrderStep,
    input: { orderId: string; paymentId?: string; reason?: string; courierId?: string | null },
    ctx: CommandContext,
  ): Promise<CommandResult> {
    const command = { type, data: { ...input } } as OrderCommand;
    return this.executor.execute(
      orders,
      input.orderId,
      async (state, now) => {
        // Couriers may pick up and deliver any order; the restaurant's steps are for its owner only.
        if (!(ctx.role === 'courier' && COURIER_STEPS.includes(type))) {
          await this.assertOwnsRestaurantOf(state.status === 'none' ? null : state.restaurantId, ctx);
        }
        return orderDecider.decide(command, state, { now });
      },
      ctx,
    );
  }

  cancelOrder(input: { orderId: string; reason: string }, ctx: CommandContext): Promise<CommandResult> {
    const command: OrderCommand = {
      type: 'CancelOrder',
      data: { ...input, cancelledBy: ctx.actor, afterDelivery: ctx.role === 'admin' },
    };
    return this.executor.execute(
      orders,
      input.orderId,
      async (state, now) => {
        if (ctx.role === 'customer') {
          if (state.status !== 'none' && state.customerId !== ctx.actor) throw notFound(input.orderId);
        } else {
          await this.assertOwnsRestaurantOf(state.status === 'none' ? null : state.restaurantId, ctx);
        }
        return orderDecider.decide(command, state, { now });
      },
      ctx,
    );
  }

  /** A restaurant account acts only on its own restaurants; admins and trusted internal callers on any. */
  private async assertOwnsRestaurantOf(restaurantId: string | null, ctx: CommandContext): Promise<void> {
    if (restaurantId === null || isTrusted(ctx)) return;
    assertOwner((await this.executor.load(restaurants, restaurantId)).state, ctx);
  }

  recordPayment(command: PaymentCommand, ctx: CommandContext): Promise<CommandResult> {
    return this.executor.execute(
      payments,
      command.data.paymentId,
      (state, now) => paymentDecider.decide(command, state, { now }),
      ctx,
    );
  }
}
