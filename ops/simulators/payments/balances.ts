// Available balances per account and currency, as Connect moves money between them: a capture credits the
// platform, a refund debits it; a transfer moves money from the platform to a connected account (a reversal moves
// it back); a payout debits a connected account (a failed payout credits it back). Funds are available at once
// (in Stripe's test mode that takes the 4000000000000077 card; here every card behaves so), and the platform may go
// below zero through refunds, as Stripe lets it (it debits the platform's bank), but nothing else may.

/** The platform's own balance; connected accounts are keyed by their acct_… id. */
export const PLATFORM = 'platform';

export class Balances {
  private readonly amounts = new Map<string, Map<string, number>>();

  available(account: string, currency: string): number {
    return this.amounts.get(account)?.get(currency) ?? 0;
  }

  /** Every currency the account has held, with its available amount. */
  of(account: string): ReadonlyMap<string, number> {
    return this.amounts.get(account) ?? new Map();
  }

  credit(account: string, currency: string, amount: number): void {
    const byCurrency = this.amounts.get(account) ?? new Map<string, number>();
    byCurrency.set(currency, (byCurrency.get(currency) ?? 0) + amount);
    this.amounts.set(account, byCurrency);
  }

  debit(account: string, currency: string, amount: number): void {
    this.credit(account, currency, -amount);
  }
}
