import type { Knex } from 'knex';

// Password hashes are secrets, not facts to publish: they live here, written in the same transaction as the
// AccountRegistered event, never in the event payload (which goes to Kafka). The unique email is the guard
// against two registrations of one address.
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE identity_credentials (
      account_id    text PRIMARY KEY,
      email         text NOT NULL UNIQUE,
      password_hash text NOT NULL,
      role          text NOT NULL,
      created_at    timestamptz NOT NULL DEFAULT now()
    );
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE IF EXISTS identity_credentials');
}
