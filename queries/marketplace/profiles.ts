import type { Knex } from 'knex';
import { profilesTables } from '../../projections/marketplace/profiles.js';
import { REPUTATION_PRIOR_MEAN } from '../../schemas/marketplace/vocabulary.js';

// A profile page: the profile, its reputation (Bayesian score, count, distribution) and the latest visible
// reviews of the account. Hidden reviews are neither listed nor counted.

const REVIEWS_SHOWN = 20;
const iso = (v: Date | string): string => (v instanceof Date ? v.toISOString() : v);

export interface Reputation {
  readonly score: number;
  readonly count: number;
  /** Visible ratings of 1..5 stars, in that order. */
  readonly distribution: number[];
}

/** An account nobody has reviewed: the prior alone. */
export const NO_REPUTATION: Reputation = { score: REPUTATION_PRIOR_MEAN, count: 0, distribution: [0, 0, 0, 0, 0] };

export class ProfileQueries {
  constructor(
    private readonly db: Knex,
    private readonly version: () => Promise<number>,
  ) {}

  async reputation(accountId: string): Promise<Reputation> {
    const t = profilesTables(await this.version());
    const row = await this.db(t.reputation).where('account_id', accountId).first();
    if (!row) return NO_REPUTATION;
    return { score: Number(row.score), count: row.count as number, distribution: row.distribution as number[] };
  }

  async profile(accountId: string) {
    const t = profilesTables(await this.version());
    const row = await this.db(t.profiles).where('account_id', accountId).first();
    if (!row) return null;
    const reviews = await this.db(t.reviews)
      .where({ reviewee_id: accountId, hidden: false })
      .orderBy('reviewed_at', 'desc')
      .limit(REVIEWS_SHOWN);
    return {
      accountId,
      kind: row.kind as 'worker' | 'hirer',
      profile: row.profile as Record<string, unknown>,
      updatedAt: iso(row.updated_at as Date),
      reputation: await this.reputation(accountId),
      reviews: reviews.map((r: Record<string, unknown>) => ({
        contractId: r.contract_id as string,
        reviewerId: r.reviewer_id as string,
        reviewerSide: r.reviewer_side as string,
        rating: r.rating as number,
        text: r.text as string,
        reviewedAt: iso(r.reviewed_at as Date),
      })),
    };
  }
}
