import { randomUUID } from 'node:crypto';
import { executeAuthorised } from '../authorised.js';
import { DomainError } from '../decider.js';
import { type CommandContext, type CommandExecutor, type CommandResult, loadTarget } from '../executor.js';
import { menuItems, orders, payments, restaurants } from './aggregates.js';
import { type MenuItem, type MenuItemCommand, menuItemDecider } from './menu-item.js';
import { type Order, type OrderCommand, orderDecider } from './order.js';
import { type PaymentCommand, paymentDecider } from './payment.js';
import { type Address, type Restaurant, type RestaurantCommand, restaurantDecider } from './restaurant.js';

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

// Existence oracles. What a caller may not act on answers exactly as what does not exist, when its existence is
// not public: an order (only its customer, its restaurant, couriers and admins know it) and a removed menu item
// (gone from the menu and from search). A restaurant and a listed menu item are public (place-order tells
// RESTAURANT_CLOSED from RESTAURANT_NOT_FOUND, search lists the items with their restaurant), so acting on another
// owner's answers 403 NOT_RESTAURANT_OWNER: it reveals nothing, and says what is wrong.

/** The decider's own refusal for a missing order (order.ts), word for word: the two must not be told apart. */
const orderNotFound = (orderId: string) =>
  new DomainError('not_found', 'ORDER_NOT_FOUND', `order ${orderId} does not exist`, { orderId });

/** The decider's own refusal for a missing or removed menu item (menu-item.ts), word for word. */
const menuItemNotFound = (menuItemId: string) =>
  new DomainError('not_found', 'MENU_ITEM_NOT_FOUND', `menu item ${menuItemId} does not exist`, { menuItemId });

/**
 * place-order with an id that is another customer's order. It cannot be 201, so the id being taken shows whatever
 * we answer; this says no more than that (ORDER_EXISTS, for the caller's own order, is a retry they may act on).
 */
const orderIdTaken = (orderId: string) =>
  new DomainError('conflict', 'ORDER_ID_TAKEN', `order id ${orderId} cannot be used; choose another`, { orderId });

const notRestaurantOwner = (restaurantId: string) =>
  new DomainError('forbidden', 'NOT_RESTAURANT_OWNER', "only the restaurant's owner may do this", { restaurantId });

function assertOwner(restaurant: Restaurant, ctx: CommandContext): void {
  if (isTrusted(ctx) || restaurant.status === 'none') return; // an unknown restaurant is the decider's refusal
  if (restaurant.ownerId !== ctx.actor) throw notRestaurantOwner(restaurant.restaurantId);
}

/** Whether the id names an order someone else placed (not a retry of the caller's own). */
const isOthersOrder = (state: Order, ctx: CommandContext): boolean =>
  state.status !== 'none' && !isTrusted(ctx) && state.customerId !== ctx.actor;

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
    return this.onRestaurant({ type: 'OpenRestaurant', data: input }, ctx);
  }

  closeRestaurant(input: { restaurantId: string }, ctx: CommandContext): Promise<CommandResult> {
    return this.onRestaurant({ type: 'CloseRestaurant', data: input }, ctx);
  }

  updateRestaurantDetails(
    input: { restaurantId: string; name: string; cuisine: string; address: Address },
    ctx: CommandContext,
  ): Promise<CommandResult> {
    const data = { ...input, address: { ...input.address, line2: input.address.line2 ?? null } };
    return this.onRestaurant({ type: 'UpdateRestaurantDetails', data }, ctx);
  }

  /** A change to an existing restaurant, by its owner (restaurants are public: another owner's answers 403). */
  private onRestaurant(
    command: Exclude<RestaurantCommand, { type: 'RegisterRestaurant' }>,
    ctx: CommandContext,
  ): Promise<CommandResult> {
    const { restaurantId } = command.data;
    return executeAuthorised(
      this.executor,
      restaurants,
      restaurantId,
      ctx,
      async (state) => assertOwner(state, ctx),
      () =>
        new DomainError('not_found', 'RESTAURANT_NOT_FOUND', `restaurant ${restaurantId} does not exist`, {
          restaurantId,
        }),
      (state, now) => restaurantDecider.decide(command, state, { now }),
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
    return this.onMenuItem({ type: 'ChangeMenuItemPrice', data: input }, ctx);
  }

  setMenuItemAvailability(
    input: { menuItemId: string; available: boolean },
    ctx: CommandContext,
  ): Promise<CommandResult> {
    return this.onMenuItem({ type: 'SetMenuItemAvailability', data: input }, ctx);
  }

  removeMenuItem(input: { menuItemId: string }, ctx: CommandContext): Promise<CommandResult> {
    return this.onMenuItem({ type: 'RemoveMenuItem', data: input }, ctx);
  }

  /** A change to an existing menu item, by its restaurant's owner; another owner's removed item is missing. */
  private onMenuItem(
    command: Exclude<MenuItemCommand, { type: 'AddMenuItem' }>,
    ctx: CommandContext,
  ): Promise<CommandResult> {
    const { menuItemId } = command.data;
    return executeAuthorised(
      this.executor,
      menuItems,
      menuItemId,
      ctx,
      async (state) => {
        if (state.status === 'none' || isTrusted(ctx)) return;
        const restaurant = (await this.executor.load(restaurants, state.restaurantId)).state;
        if (restaurant.status !== 'none' && restaurant.ownerId === ctx.actor) return;
        if (state.status === 'removed') throw menuItemNotFound(menuItemId);
        throw notRestaurantOwner(state.restaurantId);
      },
      () => menuItemNotFound(menuItemId),
      (state, now) => menuItemDecider.decide(command, state, { now }),
    );
  }

  async placeOrder(input: PlaceOrderInput, ctx: CommandContext): Promise<CommandResult> {
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
    const ids = [...new Set(input.items.map((i) => i.menuItemId))];
    const decide = async (state: Order, now: Date) => {
      if (isOthersOrder(state, ctx)) throw orderIdTaken(orderId);
      // The menu is read as of now, restaurant and items in one query; a concurrent price change is a race the
      // customer accepted by ordering.
      const [restaurant, ...loaded] = await this.executor.loadMany([
        loadTarget(restaurants, input.restaurantId),
        ...ids.map((id) => loadTarget(menuItems, id)),
      ]);
      const items = new Map<string, MenuItem>(ids.map((id, i) => [id, loaded[i]!.state]));
      return orderDecider.decide({ type: 'PlaceOrder', data }, state, {
        now,
        menu: { restaurant: restaurant.state, items },
      });
    };
    // A pinned version is compared before deciding, and a conflict names the stream's version: another
    // customer's order id is refused first, as it is unpinned.
    if (ctx.expectedVersion !== undefined && input.orderId !== undefined) {
      if (isOthersOrder((await this.executor.load(orders, orderId)).state, ctx)) throw orderIdTaken(orderId);
    }
    // The order stream is new in the common case: no read of it; an id already taken is answered as before.
    return this.executor.execute(orders, orderId, decide, ctx, { createsStream: true });
  }

  /** Accept, mark preparing / ready / picked up / delivered, confirm, reject: one step of the lifecycle. */
  advanceOrder(
    type: OrderStep,
    input: { orderId: string; paymentId?: string; reason?: string; courierId?: string | null },
    ctx: CommandContext,
  ): Promise<CommandResult> {
    return this.onOrder({ type, data: { ...input } } as OrderCommand, ctx);
  }

  cancelOrder(input: { orderId: string; reason: string }, ctx: CommandContext): Promise<CommandResult> {
    return this.onOrder(
      { type: 'CancelOrder', data: { ...input, cancelledBy: ctx.actor, afterDelivery: ctx.role === 'admin' } },
      ctx,
    );
  }

  /** A command on an existing order, by a party to it; to anyone else the order does not exist. */
  private onOrder(command: OrderCommand, ctx: CommandContext): Promise<CommandResult> {
    const { orderId } = command.data;
    return executeAuthorised(
      this.executor,
      orders,
      orderId,
      ctx,
      async (state) => {
        if (state.status !== 'none' && !(await this.isPartyTo(state, command.type, ctx))) throw orderNotFound(orderId);
      },
      () => orderNotFound(orderId),
      (state, now) => orderDecider.decide(command, state, { now }),
    );
  }

  /**
   * Who may act on an order: its customer cancels it, its restaurant's owner moves it (and may cancel, pick up
   * and deliver it), couriers pick up and deliver any order; admins and internal callers (sagas) anything.
   */
  private async isPartyTo(
    order: Exclude<Order, { status: 'none' }>,
    type: OrderCommand['type'],
    ctx: CommandContext,
  ): Promise<boolean> {
    if (isTrusted(ctx)) return true;
    if (ctx.role === 'customer') return type === 'CancelOrder' && order.customerId === ctx.actor;
    if (ctx.role === 'courier' && (COURIER_STEPS as readonly string[]).includes(type)) return true;
    const restaurant = (await this.executor.load(restaurants, order.restaurantId)).state;
    return restaurant.status !== 'none' && restaurant.ownerId === ctx.actor;
  }

  /**
   * Runs a command on an existing aggregate after `authorize` has seen its state (and may refuse). With a version
   * pinned by If-Match, the executor compares versions before deciding, and its conflict names the stream's
   * version: so then `authorize` runs first, on a load of its own, and a missing stream answers `missing()`.
   * Otherwise what the caller may not see could answer 409 with its version where a missing one answers 404.
   * (Who owns an aggregate never changes, so the early check cannot go stale.)
   */
  recordPayment(command: PaymentCommand, ctx: CommandContext): Promise<CommandResult> {
    return this.executor.execute(
      payments,
      command.data.paymentId,
      (state, now) => paymentDecider.decide(command, state, { now }),
      ctx,
    );
  }
}
