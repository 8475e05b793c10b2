import type { Knex } from 'knex';
import { asContract, type ProjectedEvent } from '../../runtime/consumer/types.js';
import { createOnce } from '../../runtime/postgres.js';
import type { ContractEvent, ProfileEvent } from '../../schemas/marketplace/events.js';
import { bayesianScore, REPUTATION_PRIOR_MEAN, REPUTATION_PRIOR_WEIGHT } from '../../schemas/marketplace/vocabulary.js';
import type { PostgresReadModel } from '../runtime/postgres.js';

// Profiles, reviews and reputation (PostgreSQL): what a profile page shows. Reputation is kept per account as
// count, sum and the distribution of visible ratings, with the Bayesian score (schemas/marketplace/vocabulary.ts:
// prior mean REPUTATION_PRIOR_MEAN over REPUTATION_PRIOR_WEIGHT reviews); a review an admin hides leaves it.

export const PROFILES_PROJECTION = 'marketplace.profiles';
export const PROFILES_VERSION = 1;

export const profilesTables = (version: number) => ({
  profiles: `marketplace_profiles_v${version}`,
  reviews: `marketplace_reviews_v${version}`,
  reputation: `marketplace_reputation_v${version}`,
});

export type ProfilesTables = ReturnType<typeof profilesTables>;

export function profilesReadModel(version: number): PostgresReadModel {
  const t = profilesTables(version);
  return {
    name: PROFILES_PROJECTION,
    version,
    topics: ['marketplace.profile', 'marketplace.contract'],
    async createTables(db) {
      await createOnce(
        db,
        t.profiles,
        `
          CREATE TABLE IF NOT EXISTS ${t.profiles} (
            account_id text PRIMARY KEY,
            kind text NOT NULL CHECK (kind IN ('worker', 'hirer')),
            profile jsonb NOT NULL,
            updated_at timestamptz NOT NULL,
            version integer NOT NULL
          );
          CREATE TABLE IF NOT EXISTS ${t.reviews} (
            contract_id text NOT NULL,
            reviewer_side text NOT NULL,
            reviewer_id text NOT NULL,
            reviewee_id text NOT NULL,
            rating smallint NOT NULL,
            text text NOT NULL,
            hidden boolean NOT NULL DEFAULT false,
            reviewed_at timestamptz NOT NULL,
            PRIMARY KEY (contract_id, reviewer_side)
          );
          CREATE INDEX IF NOT EXISTS ${t.reviews}_reviewee ON ${t.reviews} (reviewee_id, reviewed_at DESC);
          CREATE TABLE IF NOT EXISTS ${t.reputation} (
            account_id text PRIMARY KEY,
            count integer NOT NULL,
            rating_sum integer NOT NULL,
            distribution integer[] NOT NULL,
            score double precision NOT NULL
          );
        `,
      );
    },
    async dropTables(db) {
      await db.raw(`DROP TABLE IF EXISTS ${t.profiles}, ${t.reviews}, ${t.reputation}`);
    },
    async apply(trx, events) {
      for (const event of asContract<ProfileEvent | ContractEvent>(events)) await applyEvent(trx, t, event);
    },
  };
}

async function applyEvent(
  trx: Knex.Transaction,
  t: ProfilesTables,
  event: ProjectedEvent<ProfileEvent | ContractEvent>,
): Promise<void> {
  switch (event.eventType) {
    case 'WorkerProfileUpdated':
    case 'HirerProfileUpdated': {
      const { updatedAt, ...profile } = event.data;
      const accountId = 'workerId' in event.data ? event.data.workerId : event.data.hirerId;
      await trx(t.profiles)
        .insert({
          account_id: accountId,
          kind: event.eventType === 'WorkerProfileUpdated' ? 'worker' : 'hirer',
          profile: JSON.stringify(profile),
          updated_at: updatedAt,
          version: event.streamVersion,
        })
        .onConflict('account_id')
        .merge();
      return;
    }
    case 'ContractReviewed': {
      const d = event.data;
      const inserted = await trx(t.reviews)
        .insert({
          contract_id: d.contractId,
          reviewer_side: d.reviewerSide,
          reviewer_id: d.reviewerId,
          reviewee_id: d.revieweeId,
          rating: d.rating,
          text: d.text,
          reviewed_at: d.reviewedAt,
        })
        .onConflict(['contract_id', 'reviewer_side'])
        .ignore()
        .returning('rating');
      if (inserted.length > 0) await addRating(trx, t, d.revieweeId, d.rating, +1);
      return;
    }
    case 'ReviewHidden': {
      const hidden: { rating: number }[] = await trx(t.reviews)
        .where({ contract_id: event.data.contractId, reviewer_side: event.data.reviewerSide, hidden: false })
        .update({ hidden: true })
        .returning('rating');
      if (hidden[0]) await addRating(trx, t, event.data.revieweeId, hidden[0].rating, -1);
      return;
    }
    default:
      return; // the contract's other events change no one's reputation
  }
}

/** Adds (+1) or removes (-1) one rating of `accountId`, and recomputes its Bayesian score. */
async function addRating(trx: Knex.Transaction, t: ProfilesTables, accountId: string, rating: number, sign: 1 | -1) {
  // A PostgreSQL array literal: knex would spread a JavaScript array into a list of parameters.
  const distribution = `{${[1, 2, 3, 4, 5].map((stars) => (stars === rating ? sign : 0)).join(',')}}`;
  // The update recomputes the score from the new totals in SQL, with the same formula as bayesianScore.
  await trx.raw(
    `INSERT INTO ${t.reputation} AS r (account_id, count, rating_sum, distribution, score)
     VALUES (?, ?::integer, ?::integer, ?::integer[], ?::double precision)
     ON CONFLICT (account_id) DO UPDATE SET
       count = r.count + EXCLUDED.count,
       rating_sum = r.rating_sum + EXCLUDED.rating_sum,
       distribution = ARRAY(
         SELECT a + b FROM unnest(r.distribution, EXCLUDED.distribution) WITH ORDINALITY AS u(a, b, i) ORDER BY i
       ),
       score = (?::double precision + r.rating_sum + EXCLUDED.rating_sum) / (?::double precision + r.count + EXCLUDED.count)`,
    [
      accountId,
      sign,
      sign * rating,
      distribution,
      bayesianScore(sign * rating, sign),
      REPUTATION_PRIOR_WEIGHT * REPUTATION_PRIOR_MEAN,
      REPUTATION_PRIOR_WEIGHT,
    ],
  );
}
