// Which event types travel on which topic (one topic per aggregate type; the topic is also the stream type).
export const orderingTopics = {
  'ordering.restaurant': ['RestaurantRegistered', 'RestaurantOpened', 'RestaurantClosed', 'RestaurantDetailsUpdated'],
  'ordering.menu-item': ['MenuItemAdded', 'MenuItemPriceChanged', 'MenuItemAvailabilityChanged', 'MenuItemRemoved'],
  'ordering.order': [
    'OrderPlaced',
    'OrderConfirmed',
    'OrderRejected',
    'OrderAccepted',
    'OrderPreparationStarted',
    'OrderReadyForPickup',
    'OrderPickedUp',
    'OrderDelivered',
    'OrderCancelled',
  ],
  'ordering.payment': ['PaymentAuthorized', 'PaymentDeclined', 'PaymentCaptured', 'PaymentVoided', 'PaymentRefunded'],
} as const;
