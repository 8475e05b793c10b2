// Generated from the .avsc files of this folder by `npm run schemas:types` (schemas/codegen.ts): do not edit by hand.

export interface Address {
  line1: string;
  line2: string | null;
  city: string;
  postalCode: string;
  /** ISO 3166-1 alpha-2 */
  country: string;
}

/** Restaurant was registered; it starts closed. */
export interface RestaurantRegistered {
  restaurantId: string;
  ownerId: string;
  name: string;
  cuisine: string;
  address: Address;
  registeredAt: string;
}

/** Restaurant started taking orders. */
export interface RestaurantOpened {
  restaurantId: string;
  openedAt: string;
}

/** Restaurant stopped taking orders. */
export interface RestaurantClosed {
  restaurantId: string;
  closedAt: string;
}

/** Name, cuisine or address changed. */
export interface RestaurantDetailsUpdated {
  restaurantId: string;
  name: string;
  cuisine: string;
  address: Address;
  updatedAt: string;
}

/** An item was added to a restaurant menu; it starts available. */
export interface MenuItemAdded {
  menuItemId: string;
  restaurantId: string;
  name: string;
  description: string;
  /** price in minor units of currency */
  priceMinor: number;
  /** ISO 4217 */
  currency: string;
  addedAt: string;
}

/** The price of a menu item changed. */
export interface MenuItemPriceChanged {
  menuItemId: string;
  restaurantId: string;
  priceMinor: number;
  previousPriceMinor: number;
  currency: string;
  changedAt: string;
}

/** A menu item became available or unavailable. */
export interface MenuItemAvailabilityChanged {
  menuItemId: string;
  restaurantId: string;
  available: boolean;
  changedAt: string;
}

/** A menu item was removed from the menu for good. */
export interface MenuItemRemoved {
  menuItemId: string;
  restaurantId: string;
  removedAt: string;
}

export interface OrderLine {
  menuItemId: string;
  name: string;
  quantity: number;
  unitPriceMinor: number;
}

export interface PaymentMethod {
  cardLast4: string;
  /** opaque token the payment saga hands to the provider */
  cardToken: string;
}

/** A customer placed an order; prices are the menu prices at placement. */
export interface OrderPlaced {
  orderId: string;
  restaurantId: string;
  customerId: string;
  items: OrderLine[];
  totalMinor: number;
  currency: string;
  deliveryAddress: Address;
  paymentMethod: PaymentMethod;
  placedAt: string;
}

/** Payment for the order was authorized. */
export interface OrderConfirmed {
  orderId: string;
  paymentId: string;
  confirmedAt: string;
}

/** The order could not go ahead (payment declined, restaurant refused). */
export interface OrderRejected {
  orderId: string;
  reason: string;
  rejectedAt: string;
}

/** The restaurant accepted the order. */
export interface OrderAccepted {
  orderId: string;
  acceptedAt: string;
}

/** The kitchen started preparing the order. */
export interface OrderPreparationStarted {
  orderId: string;
  startedAt: string;
}

/** The order is ready for the courier. */
export interface OrderReadyForPickup {
  orderId: string;
  readyAt: string;
}

/** A courier picked the order up. */
export interface OrderPickedUp {
  orderId: string;
  courierId: string | null;
  pickedUpAt: string;
}

/** The order reached the customer. */
export interface OrderDelivered {
  orderId: string;
  deliveredAt: string;
}

/** The order was cancelled. */
export interface OrderCancelled {
  orderId: string;
  reason: string;
  cancelledBy: string;
  previousStatus: string;
  cancelledAt: string;
}

/** The provider authorized the amount (held, not captured). */
export interface PaymentAuthorized {
  paymentId: string;
  orderId: string;
  amountMinor: number;
  currency: string;
  providerRef: string;
  authorizedAt: string;
}

/** The provider declined the payment. */
export interface PaymentDeclined {
  paymentId: string;
  orderId: string;
  amountMinor: number;
  currency: string;
  reason: string;
  declinedAt: string;
}

/** The authorized amount was captured. */
export interface PaymentCaptured {
  paymentId: string;
  orderId: string;
  amountMinor: number;
  currency: string;
  capturedAt: string;
}

/** The authorization was released without capture. */
export interface PaymentVoided {
  paymentId: string;
  orderId: string;
  reason: string;
  voidedAt: string;
}

/** A captured payment was refunded. */
export interface PaymentRefunded {
  paymentId: string;
  orderId: string;
  amountMinor: number;
  currency: string;
  reason: string;
  refundedAt: string;
}

/** Every event type of the ordering context, by name. */
export interface OrderingEventMap {
  RestaurantRegistered: RestaurantRegistered;
  RestaurantOpened: RestaurantOpened;
  RestaurantClosed: RestaurantClosed;
  RestaurantDetailsUpdated: RestaurantDetailsUpdated;
  MenuItemAdded: MenuItemAdded;
  MenuItemPriceChanged: MenuItemPriceChanged;
  MenuItemAvailabilityChanged: MenuItemAvailabilityChanged;
  MenuItemRemoved: MenuItemRemoved;
  OrderPlaced: OrderPlaced;
  OrderConfirmed: OrderConfirmed;
  OrderRejected: OrderRejected;
  OrderAccepted: OrderAccepted;
  OrderPreparationStarted: OrderPreparationStarted;
  OrderReadyForPickup: OrderReadyForPickup;
  OrderPickedUp: OrderPickedUp;
  OrderDelivered: OrderDelivered;
  OrderCancelled: OrderCancelled;
  PaymentAuthorized: PaymentAuthorized;
  PaymentDeclined: PaymentDeclined;
  PaymentCaptured: PaymentCaptured;
  PaymentVoided: PaymentVoided;
  PaymentRefunded: PaymentRefunded;
}

/** The events on topic ordering.restaurant. */
export type RestaurantEvent =
  | { readonly type: 'RestaurantRegistered'; readonly data: RestaurantRegistered }
  | { readonly type: 'RestaurantOpened'; readonly data: RestaurantOpened }
  | { readonly type: 'RestaurantClosed'; readonly data: RestaurantClosed }
  | { readonly type: 'RestaurantDetailsUpdated'; readonly data: RestaurantDetailsUpdated };

/** The events on topic ordering.menu-item. */
export type MenuItemEvent =
  | { readonly type: 'MenuItemAdded'; readonly data: MenuItemAdded }
  | { readonly type: 'MenuItemPriceChanged'; readonly data: MenuItemPriceChanged }
  | { readonly type: 'MenuItemAvailabilityChanged'; readonly data: MenuItemAvailabilityChanged }
  | { readonly type: 'MenuItemRemoved'; readonly data: MenuItemRemoved };

/** The events on topic ordering.order. */
export type OrderEvent =
  | { readonly type: 'OrderPlaced'; readonly data: OrderPlaced }
  | { readonly type: 'OrderConfirmed'; readonly data: OrderConfirmed }
  | { readonly type: 'OrderRejected'; readonly data: OrderRejected }
  | { readonly type: 'OrderAccepted'; readonly data: OrderAccepted }
  | { readonly type: 'OrderPreparationStarted'; readonly data: OrderPreparationStarted }
  | { readonly type: 'OrderReadyForPickup'; readonly data: OrderReadyForPickup }
  | { readonly type: 'OrderPickedUp'; readonly data: OrderPickedUp }
  | { readonly type: 'OrderDelivered'; readonly data: OrderDelivered }
  | { readonly type: 'OrderCancelled'; readonly data: OrderCancelled };

/** The events on topic ordering.payment. */
export type PaymentEvent =
  | { readonly type: 'PaymentAuthorized'; readonly data: PaymentAuthorized }
  | { readonly type: 'PaymentDeclined'; readonly data: PaymentDeclined }
  | { readonly type: 'PaymentCaptured'; readonly data: PaymentCaptured }
  | { readonly type: 'PaymentVoided'; readonly data: PaymentVoided }
  | { readonly type: 'PaymentRefunded'; readonly data: PaymentRefunded };

/** Every event of the ordering context. */
export type OrderingEvent = RestaurantEvent | MenuItemEvent | OrderEvent | PaymentEvent;
