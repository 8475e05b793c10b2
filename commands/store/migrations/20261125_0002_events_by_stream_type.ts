import type { Knex } from 'knex';

// Rebuilds and replays read one aggregate type's events in global order.
export async function up(knex: Knex): Promise<void> {
  await knex.raw('CREATE INDEX IF NOT EXISTS events_stream_type_idx ON events (stream_type, global_position)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX IF EXISTS events_stream_type_idx');
}
