// The ledger's accounts (`ledger_postings.account`). Each is one party's or one place's money, per currency (a
// posting carries its currency, and balances are kept per account and currency).
//
//   hirer:<hirerId>               external: where a hirer's money comes from. Funding posts it negative, a refund
//                                 brings it back towards zero; its balance is what the hirer has paid in, net.
//   escrow:<contractId>           held by the platform for one contract. Never below zero.
//   fees                          the platform's fees.
//   in-transit:<workerId>         released to the worker's connected account, not yet credited to their wallet
//                                 (between MilestoneReleased / DisputeSettled on the escrow stream and WalletCredited
//                                 on the wallet stream). Zero once every release is credited.
//   wallet:<workerId>             available to the worker. Never below zero.
//   payouts-in-flight:<workerId>  reserved by a payout the bank has not received yet.
//   bank:<workerId>               external: paid out to the worker's bank.

export const accounts = {
  hirer: (hirerId: string): string => `hirer:${hirerId}`,
  escrow: (contractId: string): string => `escrow:${contractId}`,
  fees: 'fees',
  inTransit: (workerId: string): string => `in-transit:${workerId}`,
  wallet: (workerId: string): string => `wallet:${workerId}`,
  payoutsInFlight: (workerId: string): string => `payouts-in-flight:${workerId}`,
  bank: (workerId: string): string => `bank:${workerId}`,
} as const;

/** The account kinds, as the prefix before the colon (`fees` has none). */
export const ACCOUNT_KINDS = ['hirer', 'escrow', 'fees', 'in-transit', 'wallet', 'payouts-in-flight', 'bank'] as const;
export type AccountKind = (typeof ACCOUNT_KINDS)[number];

/** The kind of an account name (`wallet:w-1` → `wallet`), or null for a name this ledger does not make. */
export function accountKindOf(account: string): AccountKind | null {
  const kind = account.includes(':') ? account.slice(0, account.indexOf(':')) : account;
  return (ACCOUNT_KINDS as readonly string[]).includes(kind) ? (kind as AccountKind) : null;
}
