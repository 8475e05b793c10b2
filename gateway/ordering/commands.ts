import type { FastifyInstance } from 'fastify';
import type { CommandContext, CommandResult } from '../../commands/executor.js';
import type {
  AddMenuItemInput,
  OrderingCommands,
  PlaceOrderInput,
  RegisterRestaurantInput,
} from '../../commands/ordering/handlers.js';
import { MAX_PRICE_MINOR } from '../../commands/ordering/menu-item.js';
import { MAX_LINES, MAX_QUANTITY, MIN_QUANTITY } from '../../commands/ordering/order.js';
import type { Role } from '../../runtime/roles.js';
import { commandContext } from '../command-context.js';
import { id, paymentMethod, refuseRawCardNumber } from '../schema-parts.js';

// POST /commands/ordering/<command>: one route per command, each with its JSON schema.

const text = (maxLength: number) => ({ type: 'string', minLength: 1, maxLength }) as const;
const address = {
  type: 'object',
  additionalProperties: false,
  required: ['line1', 'city', 'postalCode', 'country'],
  properties: {
    line1: text(200),
    line2: { type: ['string', 'null'], maxLength: 200 },
    city: text(100),
    postalCode: text(20),
    country: { type: 'string', pattern: '^[A-Z]{2}$' },
  },
} as const;
const obj = (required: readonly string[], properties: Record<string, unknown>) =>
  ({ type: 'object', additionalProperties: false, required, properties }) as const;

const result = {
  type: 'object',
  properties: { streamId: { type: 'string' }, version: { type: 'integer' }, position: { type: 'integer' } },
} as const;

interface CommandRoute<Input> {
  readonly name: string;
  /** Who may send it; ownership (a restaurant acts only on its own) is checked by the handler. */
  readonly roles: readonly Role[];
  readonly created?: boolean;
  readonly schema: Record<string, unknown>;
  readonly run: (
    commands: OrderingCommands,
    input: Input,
    ctx: CommandContext,
    policy: OrderingCommandPolicy,
  ) => Promise<CommandResult>;
}

export interface OrderingCommandPolicy {
  /**
   * Whether place-order takes raw card numbers (the simulator's test cards) besides payment method ids. With
   * Stripe it does not: a card number would be stored in the event log forever and published to Kafka, so
   * clients send the PaymentMethod id Stripe.js or Elements made (`pm_…`), and no card number enters Ledgerline.
   */
  readonly rawCardNumbers: boolean;
}

const route = <Input>(r: CommandRoute<Input>): CommandRoute<unknown> => r as CommandRoute<unknown>;
const RESTAURANT: readonly Role[] = ['restaurant', 'admin'];
const CUSTOMER: readonly Role[] = ['customer'];
const COURIER: readonly Role[] = ['courier', 'restaurant', 'admin'];
const CANCELLERS: readonly Role[] = ['customer', 'restaurant', 'admin'];
const orderIdOnly = obj(['orderId'], { orderId: id });

export const orderingCommandRoutes: readonly CommandRoute<unknown>[] = [
  route<RegisterRestaurantInput>({
    name: 'register-restaurant',
    roles: RESTAURANT,
    created: true,
    schema: obj(['name', 'cuisine', 'address'], { restaurantId: id, name: text(200), cuisine: text(60), address }),
    run: (c, input, ctx) => c.registerRestaurant(input, ctx),
  }),
  route<{ restaurantId: string }>({
    name: 'open-restaurant',
    roles: RESTAURANT,
    schema: obj(['restaurantId'], { restaurantId: id }),
    run: (c, input, ctx) => c.openRestaurant(input, ctx),
  }),
  route<{ restaurantId: string }>({
    name: 'close-restaurant',
    roles: RESTAURANT,
    schema: obj(['restaurantId'], { restaurantId: id }),
    run: (c, input, ctx) => c.closeRestaurant(input, ctx),
  }),
  route<Required<RegisterRestaurantInput>>({
    name: 'update-restaurant-details',
    roles: RESTAURANT,
    schema: obj(['restaurantId', 'name', 'cuisine', 'address'], {
      restaurantId: id,
      name: text(200),
      cuisine: text(60),
      address,
    }),
    run: (c, input, ctx) => c.updateRestaurantDetails(input, ctx),
  }),
  route<AddMenuItemInput>({
    name: 'add-menu-item',
    roles: RESTAURANT,
    created: true,
    schema: obj(['restaurantId', 'name', 'description', 'priceMinor', 'currency'], {
      restaurantId: id,
      menuItemId: id,
      name: text(200),
      description: { type: 'string', maxLength: 2000 },
      priceMinor: { type: 'integer', minimum: 0, maximum: MAX_PRICE_MINOR },
      currency: { type: 'string', pattern: '^[A-Z]{3}$' },
    }),
    run: (c, input, ctx) => c.addMenuItem(input, ctx),
  }),
  route<{ menuItemId: string; priceMinor: number }>({
    name: 'change-menu-item-price',
    roles: RESTAURANT,
    schema: obj(['menuItemId', 'priceMinor'], {
      menuItemId: id,
      priceMinor: { type: 'integer', minimum: 0, maximum: MAX_PRICE_MINOR },
    }),
    run: (c, input, ctx) => c.changeMenuItemPrice(input, ctx),
  }),
  route<{ menuItemId: string; available: boolean }>({
    name: 'set-menu-item-availability',
    roles: RESTAURANT,
    schema: obj(['menuItemId', 'available'], { menuItemId: id, available: { type: 'boolean' } }),
    run: (c, input, ctx) => c.setMenuItemAvailability(input, ctx),
  }),
  route<{ menuItemId: string }>({
    name: 'remove-menu-item',
    roles: RESTAURANT,
    schema: obj(['menuItemId'], { menuItemId: id }),
    run: (c, input, ctx) => c.removeMenuItem(input, ctx),
  }),
  route<PlaceOrderInput>({
    name: 'place-order',
    roles: CUSTOMER,
    created: true,
    schema: obj(['restaurantId', 'items', 'payment', 'deliveryAddress'], {
      orderId: id,
      restaurantId: id,
      items: {
        type: 'array',
        minItems: 1,
        maxItems: MAX_LINES,
        items: obj(['menuItemId', 'quantity'], {
          menuItemId: id,
          quantity: { type: 'integer', minimum: MIN_QUANTITY, maximum: MAX_QUANTITY },
        }),
      },
      payment: obj(['card'], { card: paymentMethod }),
      deliveryAddress: address,
    }),
    run: (c, input, ctx, policy) => {
      refuseRawCardNumber(input.payment.card, policy.rawCardNumbers);
      return c.placeOrder(input, ctx);
    },
  }),
  route<{ orderId: string }>({
    name: 'accept-order',
    roles: RESTAURANT,
    schema: orderIdOnly,
    run: (c, input, ctx) => c.advanceOrder('AcceptOrder', input, ctx),
  }),
  route<{ orderId: string }>({
    name: 'mark-order-preparing',
    roles: RESTAURANT,
    schema: orderIdOnly,
    run: (c, input, ctx) => c.advanceOrder('MarkOrderPreparing', input, ctx),
  }),
  route<{ orderId: string }>({
    name: 'mark-order-ready',
    roles: RESTAURANT,
    schema: orderIdOnly,
    run: (c, input, ctx) => c.advanceOrder('MarkOrderReady', input, ctx),
  }),
  route<{ orderId: string; courierId?: string }>({
    name: 'mark-order-picked-up',
    roles: COURIER,
    schema: obj(['orderId'], { orderId: id, courierId: id }),
    run: (c, input, ctx) => c.advanceOrder('MarkOrderPickedUp', input, ctx),
  }),
  route<{ orderId: string }>({
    name: 'mark-order-delivered',
    roles: COURIER,
    schema: orderIdOnly,
    run: (c, input, ctx) => c.advanceOrder('MarkOrderDelivered', input, ctx),
  }),
  route<{ orderId: string; reason: string }>({
    name: 'cancel-order',
    roles: CANCELLERS,
    schema: obj(['orderId', 'reason'], { orderId: id, reason: text(500) }),
    run: (c, input, ctx) => c.cancelOrder(input, ctx),
  }),
];

export function orderingCommandsPlugin(commands: OrderingCommands, policy: OrderingCommandPolicy) {
  return async (app: FastifyInstance): Promise<void> => {
    for (const r of orderingCommandRoutes) {
      app.post(
        `/ordering/${r.name}`,
        { schema: { body: r.schema, response: { 200: result, 201: result } }, config: { roles: r.roles } },
        async (request, reply) => {
          const out = await r.run(commands, request.body, commandContext(request, `ordering/${r.name}`), policy);
          reply.header('etag', `"${out.version}"`);
          return reply.status(r.created ? 201 : 200).send(out);
        },
      );
    }
  };
}
