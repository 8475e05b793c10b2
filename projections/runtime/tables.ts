import type { Knex } from 'knex';
import { createOnce } from '../../runtime/postgres.js';

// The projection runtime's own tables in the read database: which stream versions each projection version has
// applied (the dedupe that makes redelivery harmless), per-partition checkpoints, and which version is active.
export async function ensureRuntimeTables(db: Knex): Promise<void> {
  await createOnce(
    db,
    'ledgerline.projection-runtime',
    `
    CREATE TABLE IF NOT EXISTS projection_streams (
      projection  text NOT NULL,
      stream_id   text NOT NULL,
      version     integer NOT NULL,
      position    bigint NOT NULL,
      PRIMARY KEY (projection, stream_id)
    );
    CREATE TABLE IF NOT EXISTS projection_checkpoints (
      projection  text NOT NULL,
      topic       text NOT NULL,
      partition   integer NOT NULL,
      "offset"    bigint NOT NULL,
      updated_at  timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (projection, topic, partition)
    );
    CREATE TABLE IF NOT EXISTS projection_versions (
      name            text PRIMARY KEY,
      active_version  integer NOT NULL,
      switched_at     timestamptz NOT NULL DEFAULT now()
    );
  `,
  );
}

/** `ordering.orders` version 2 → `ordering.orders@2`: the key of a projection version in the runtime tables. */
export const versionKey = (name: string, version: number): string => `${name}@${version}`;
