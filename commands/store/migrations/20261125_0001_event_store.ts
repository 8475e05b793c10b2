import type { Knex } from 'knex';

// The write side's tables. `events` is append-only and the source of truth; `streams` holds each
// stream's current version and is the row the optimistic-concurrency check locks; `outbox` holds
// what the relay has not published yet. The `schemas` table of writer-schema copies, which this migration
// created before contexts were modules, now belongs to the codec (schemas/codec.ts `ensureSchemaCopies`).
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE streams (
      stream_id    text PRIMARY KEY,
      stream_type  text NOT NULL,
      version      integer NOT NULL,
      updated_at   timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX streams_type_idx ON streams (stream_type, stream_id);

    CREATE TABLE events (
      global_position bigserial PRIMARY KEY,
      stream_id       text NOT NULL,
      stream_type     text NOT NULL,
      stream_version  integer NOT NULL,
      event_id        uuid NOT NULL UNIQUE,
      event_type      text NOT NULL,
      schema_id       integer NOT NULL,
      payload         bytea NOT NULL,
      metadata        jsonb NOT NULL,
      recorded_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
      CONSTRAINT events_stream_version_unique UNIQUE (stream_id, stream_version)
    );
    CREATE INDEX events_type_idx ON events (event_type, global_position);
    CREATE INDEX events_recorded_at_idx ON events (recorded_at);

    CREATE TABLE outbox (
      global_position bigint PRIMARY KEY REFERENCES events (global_position),
      shard           integer NOT NULL,
      topic           text NOT NULL,
      created_at      timestamptz NOT NULL DEFAULT clock_timestamp()
    );
    CREATE INDEX outbox_shard_idx ON outbox (shard, global_position);

    CREATE TABLE idempotency_keys (
      scope         text NOT NULL,
      key           text NOT NULL,
      request_hash  text NOT NULL,
      response      jsonb NOT NULL,
      created_at    timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (scope, key)
    );
    CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE IF EXISTS idempotency_keys, outbox, events, streams CASCADE');
}
