// Words of the ordering contract that both sides of the CQRS split read: deciders decide with them, read
// models store and filter by them, clients see them (../shared/ARCHITECTURE.md lists the statuses).

export const ORDER_STATUSES = [
  'PENDING',
  'CONFIRMED',
  'PREPARING',
  'READY',
  'PICKED_UP',
  'DELIVERED',
  'REJECTED',
  'CANCELLED',
] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];
