import type { Knex } from 'knex';
import { createOnce } from '../../../runtime/postgres.js';

// The money read model's tables, suffixed with the version so a rebuild builds N+1 beside N.

export const moneyTables = (version: number) => ({
  escrows: `marketplace_money_escrows_v${version}`,
  milestones: `marketplace_money_milestones_v${version}`,
  disputes: `marketplace_money_disputes_v${version}`,
  evidence: `marketplace_money_dispute_evidence_v${version}`,
  wallets: `marketplace_money_wallets_v${version}`,
  credits: `marketplace_money_wallet_credits_v${version}`,
  payouts: `marketplace_money_payouts_v${version}`,
  entries: `marketplace_money_ledger_entries_v${version}`,
  postings: `marketplace_money_ledger_postings_v${version}`,
  balances: `marketplace_money_balances_v${version}`,
});

export type MoneyTables = ReturnType<typeof moneyTables>;

export async function createMoneyTables(db: Knex, t: MoneyTables): Promise<void> {
  await createOnce(
    db,
    t.entries,
    `
      CREATE TABLE IF NOT EXISTS ${t.escrows} (
        contract_id text PRIMARY KEY,
        hirer_id text NOT NULL,
        worker_id text NOT NULL,
        currency text NOT NULL,
        amount_minor bigint NOT NULL,
        fee_bps integer NOT NULL,
        status text NOT NULL,
        funding_attempts integer NOT NULL,
        last_decline_reason text,
        charge_ref text,
        fund_by timestamptz NOT NULL,
        opened_at timestamptz NOT NULL,
        funded_at timestamptz,
        closed_at timestamptz,
        funded_minor bigint NOT NULL,
        held_minor bigint NOT NULL,
        released_minor bigint NOT NULL,
        refunded_minor bigint NOT NULL,
        fees_minor bigint NOT NULL,
        pending_for_worker_minor bigint NOT NULL,
        version integer NOT NULL,
        updated_at timestamptz NOT NULL
      );
      CREATE INDEX IF NOT EXISTS ${t.escrows}_worker ON ${t.escrows} (worker_id, opened_at DESC);
      CREATE TABLE IF NOT EXISTS ${t.milestones} (
        contract_id text NOT NULL,
        milestone_id text NOT NULL,
        position integer NOT NULL,
        amount_minor bigint NOT NULL,
        state text NOT NULL,
        release_id text,
        gross_minor bigint NOT NULL,
        fee_minor bigint NOT NULL,
        net_minor bigint NOT NULL,
        refund_id text,
        refunded_minor bigint NOT NULL,
        transfer_ref text,
        refund_ref text,
        updated_at timestamptz NOT NULL,
        PRIMARY KEY (contract_id, milestone_id)
      );
      CREATE TABLE IF NOT EXISTS ${t.disputes} (
        contract_id text NOT NULL,
        milestone_id text NOT NULL,
        status text NOT NULL,
        opened_by text NOT NULL,
        reason text NOT NULL,
        held_minor bigint NOT NULL,
        opened_at timestamptz NOT NULL,
        resolved_by text,
        worker_minor bigint,
        hirer_refund_minor bigint,
        fee_minor bigint,
        resolution_note text,
        resolved_at timestamptz,
        settled_at timestamptz,
        PRIMARY KEY (contract_id, milestone_id)
      );
      CREATE INDEX IF NOT EXISTS ${t.disputes}_open ON ${t.disputes} (opened_at) WHERE status <> 'SETTLED';
      CREATE TABLE IF NOT EXISTS ${t.evidence} (
        contract_id text NOT NULL,
        stream_version integer NOT NULL,
        milestone_id text NOT NULL,
        added_by text NOT NULL,
        note text NOT NULL,
        added_at timestamptz NOT NULL,
        PRIMARY KEY (contract_id, stream_version)
      );
      CREATE TABLE IF NOT EXISTS ${t.wallets} (
        worker_id text PRIMARY KEY,
        account_ref text,
        currency text,
        opened_at timestamptz,
        version integer NOT NULL,
        updated_at timestamptz NOT NULL
      );
      CREATE TABLE IF NOT EXISTS ${t.credits} (
        worker_id text NOT NULL,
        source_id text NOT NULL,
        contract_id text NOT NULL,
        milestone_id text NOT NULL,
        amount_minor bigint NOT NULL,
        currency text NOT NULL,
        credited_at timestamptz NOT NULL,
        -- With the contract: a dispute's source is dispute:<milestoneId>, and milestone ids are unique per contract only.
        PRIMARY KEY (worker_id, contract_id, source_id)
      );
      CREATE INDEX IF NOT EXISTS ${t.credits}_history ON ${t.credits} (worker_id, credited_at DESC);
      CREATE TABLE IF NOT EXISTS ${t.payouts} (
        worker_id text NOT NULL,
        payout_id text NOT NULL,
        amount_minor bigint NOT NULL,
        currency text NOT NULL,
        status text NOT NULL,
        payout_ref text,
        failure_reason text,
        requested_at timestamptz NOT NULL,
        sent_at timestamptz,
        paid_at timestamptz,
        failed_at timestamptz,
        -- With the worker: a payout id may be the worker's own choice (request-payout's payoutId).
        PRIMARY KEY (worker_id, payout_id)
      );
      CREATE INDEX IF NOT EXISTS ${t.payouts}_history ON ${t.payouts} (worker_id, requested_at DESC);
      CREATE TABLE IF NOT EXISTS ${t.entries} (
        entry_id text PRIMARY KEY,
        event_id text NOT NULL UNIQUE,
        event_type text NOT NULL,
        position bigint NOT NULL UNIQUE,
        at timestamptz NOT NULL,
        description text NOT NULL,
        contract_id text,
        milestone_id text,
        worker_id text
      );
      CREATE INDEX IF NOT EXISTS ${t.entries}_contract ON ${t.entries} (contract_id, position DESC)
        WHERE contract_id IS NOT NULL;
      CREATE TABLE IF NOT EXISTS ${t.postings} (
        entry_id text NOT NULL REFERENCES ${t.entries} (entry_id),
        account text NOT NULL,
        currency text NOT NULL,
        amount_minor bigint NOT NULL,
        position bigint NOT NULL,
        PRIMARY KEY (entry_id, account, currency)
      );
      CREATE INDEX IF NOT EXISTS ${t.postings}_account ON ${t.postings} (account, position DESC);
      CREATE TABLE IF NOT EXISTS ${t.balances} (
        account text NOT NULL,
        currency text NOT NULL,
        balance_minor bigint NOT NULL,
        updated_at timestamptz NOT NULL,
        PRIMARY KEY (account, currency)
      );
      CREATE INDEX IF NOT EXISTS ${t.balances}_prefix ON ${t.balances} (account text_pattern_ops);
    `,
  );
}

export async function dropMoneyTables(db: Knex, t: MoneyTables): Promise<void> {
  // Postings first: they reference the entries.
  await db.raw(
    `DROP TABLE IF EXISTS ${t.postings}, ${t.entries}, ${t.balances}, ${t.escrows}, ${t.milestones}, ${t.disputes},
       ${t.evidence}, ${t.wallets}, ${t.credits}, ${t.payouts}`,
  );
}
