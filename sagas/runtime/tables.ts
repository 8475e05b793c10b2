import type { Knex } from 'knex';
import { createOnce } from '../../runtime/postgres.js';

/** Every relation the DDL below creates, and the columns it adds later: present together, nothing is left to do. */
const RELATIONS = [
  'saga_instances',
  'saga_processed_events',
  'saga_timeline',
  'saga_timeline_saga',
  'saga_commands',
  'saga_commands_due',
  'saga_deadlines',
  'saga_deadlines_due',
] as const;
const ADDED_COLUMNS: readonly (readonly [table: string, column: string])[] = [
  ['saga_commands', 'cause'],
  ['saga_instances', 'origin'],
  ['saga_commands', 'attempt_id'],
  ['saga_commands', 'retryable'],
  ['saga_commands', 'claimed_until'],
  ['saga_commands', 'claimed_by'],
];

/**
 * Whether the schema is complete, read from the catalog only (to_regclass and information_schema take no lock on
 * the tables). A process starting beside running sagas must not run the DDL then: CREATE INDEX IF NOT EXISTS takes
 * a SHARE lock on its table before it finds the index, so it waits for every running saga transaction, makes
 * every later one wait, and deadlocks with a batch that holds saga_commands and then writes saga_timeline.
 */
async function sagaTablesComplete(db: Knex): Promise<boolean> {
  const result = await db.raw(
    `SELECT (SELECT bool_and(to_regclass(r) IS NOT NULL) FROM unnest(?::text[]) AS r) AS relations,
            (SELECT count(*)::int FROM information_schema.columns c
              JOIN unnest(?::text[], ?::text[]) AS w(t, col) ON c.table_name = w.t AND c.column_name = w.col
              WHERE c.table_schema = current_schema()) AS columns`,
    [[...RELATIONS], ADDED_COLUMNS.map(([t]) => t), ADDED_COLUMNS.map(([, c]) => c)],
  );
  const row = result.rows[0] as { relations: boolean | null; columns: number };
  return row.relations === true && row.columns === ADDED_COLUMNS.length;
}

// The saga runtime's tables, in the write side's database: sagas emit commands, so they live beside the store.
export async function ensureSagaTables(db: Knex): Promise<void> {
  if (await sagaTablesComplete(db)) return;
  await createOnce(
    db,
    'ledgerline.saga-runtime',
    `
      CREATE TABLE IF NOT EXISTS saga_instances (
        saga_type   text NOT NULL,
        saga_id     text NOT NULL,
        status      text NOT NULL,
        state       jsonb NOT NULL,
        version     integer NOT NULL,
        created_at  timestamptz NOT NULL DEFAULT now(),
        updated_at  timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (saga_type, saga_id)
      );
      CREATE TABLE IF NOT EXISTS saga_processed_events (
        saga_type  text NOT NULL,
        saga_id    text NOT NULL,
        event_id   uuid NOT NULL,
        PRIMARY KEY (saga_type, saga_id, event_id)
      );
      CREATE TABLE IF NOT EXISTS saga_timeline (
        id         bigserial PRIMARY KEY,
        saga_type  text NOT NULL,
        saga_id    text NOT NULL,
        at         timestamptz NOT NULL DEFAULT clock_timestamp(),
        kind       text NOT NULL,
        detail     jsonb NOT NULL
      );
      CREATE INDEX IF NOT EXISTS saga_timeline_saga ON saga_timeline (saga_type, saga_id, id);
      CREATE TABLE IF NOT EXISTS saga_commands (
        id               bigserial PRIMARY KEY,
        saga_type        text NOT NULL,
        saga_id          text NOT NULL,
        step             text NOT NULL,
        kind             text NOT NULL,
        payload          jsonb NOT NULL,
        status           text NOT NULL DEFAULT 'pending',
        attempts         integer NOT NULL DEFAULT 0,
        next_attempt_at  timestamptz NOT NULL DEFAULT now(),
        last_error       text,
        created_at       timestamptz NOT NULL DEFAULT now(),
        done_at          timestamptz,
        UNIQUE (saga_type, saga_id, step)
      );
      CREATE INDEX IF NOT EXISTS saga_commands_due ON saga_commands (next_attempt_at) WHERE status = 'pending';
      CREATE TABLE IF NOT EXISTS saga_deadlines (
        id         bigserial PRIMARY KEY,
        saga_type  text NOT NULL,
        saga_id    text NOT NULL,
        name       text NOT NULL,
        due_at     timestamptz NOT NULL,
        status     text NOT NULL DEFAULT 'scheduled',
        fired_at   timestamptz,
        UNIQUE (saga_type, saga_id, name)
      );
      CREATE INDEX IF NOT EXISTS saga_deadlines_due ON saga_deadlines (due_at) WHERE status = 'scheduled';
      -- Where a command comes from (correlation, causation and trace ids of the event that led to it), so the
      -- events it appends continue the client's flow; a saga's origin serves commands of deadlines and failures.
      -- Checked first: ALTER TABLE takes an exclusive lock even when the column exists, and this runs at every
      -- start, beside running sagas.
      DO $$ BEGIN
        IF NOT EXISTS (SELECT 1 FROM information_schema.columns
                       WHERE table_schema = current_schema() AND table_name = 'saga_commands' AND column_name = 'cause') THEN
          ALTER TABLE saga_commands ADD COLUMN cause jsonb;
        END IF;
        IF NOT EXISTS (SELECT 1 FROM information_schema.columns
                       WHERE table_schema = current_schema() AND table_name = 'saga_instances' AND column_name = 'origin') THEN
          ALTER TABLE saga_instances ADD COLUMN origin jsonb;
        END IF;
        -- The attempt being (or last) performed: the id of its 'attempt-started' timeline row, written by the claim.
        -- Outcomes are recorded only against the row still carrying the claimer's attempt (see dispatcher.ts).
        IF NOT EXISTS (SELECT 1 FROM information_schema.columns
                       WHERE table_schema = current_schema() AND table_name = 'saga_commands' AND column_name = 'attempt_id') THEN
          ALTER TABLE saga_commands ADD COLUMN attempt_id bigint;
        END IF;
        -- For a failed command: whether the saga's reaction to the failure left it open to an operator's retry
        -- (Reaction.retryable); null while not failed, or when no reaction was recorded (see retry.ts).
        IF NOT EXISTS (SELECT 1 FROM information_schema.columns
                       WHERE table_schema = current_schema() AND table_name = 'saga_commands' AND column_name = 'retryable') THEN
          ALTER TABLE saga_commands ADD COLUMN retryable boolean;
        END IF;
        -- A dispatcher's claim on a pending command: a lease until claimed_until (the database's clock), renewed
        -- while the command is performed and cleared with its outcome; an expired one is free to take over (the
        -- process died). claimed_by names the dispatcher, for operators. See dispatcher.ts.
        IF NOT EXISTS (SELECT 1 FROM information_schema.columns
                       WHERE table_schema = current_schema() AND table_name = 'saga_commands' AND column_name = 'claimed_until') THEN
          ALTER TABLE saga_commands ADD COLUMN claimed_until timestamptz, ADD COLUMN claimed_by text;
        END IF;
      END $$;
    `,
  );
}
