import { randomUUID } from 'node:crypto';
import bcrypt from 'bcryptjs';
import type { Knex } from 'knex';
import type { Role } from '../../runtime/roles.js';
import { DomainError } from '../decider.js';
import { aggregateOf, type CommandContext, type CommandExecutor, type CommandResult } from '../executor.js';
import { accountDecider, normalizeEmail } from './account.js';

export const accounts = aggregateOf(accountDecider, {
  streamType: 'identity.account',
  streamId: (id) => `account-${id}`,
});

const BCRYPT_ROUNDS = 10; // the seed's number; ~50-100 ms per hash on these machines

export interface Credentials {
  readonly accountId: string;
  readonly email: string;
  readonly role: Role;
}

// A hash to compare against when the email is unknown, so a login takes as long either way.
const DUMMY_HASH = bcrypt.hashSync('not-a-real-password', BCRYPT_ROUNDS);

export class IdentityCommands {
  constructor(
    private readonly executor: CommandExecutor,
    private readonly db: Knex,
  ) {}

  async register(
    input: { email: string; password: string; role: Role },
    ctx: CommandContext,
  ): Promise<CommandResult & { accountId: string }> {
    const accountId = randomUUID();
    const email = normalizeEmail(input.email);
    const passwordHash = await bcrypt.hash(input.password, BCRYPT_ROUNDS);
    const result = await this.executor.execute(
      accounts,
      accountId,
      (state, now) =>
        accountDecider.decide({ type: 'RegisterAccount', data: { accountId, email, role: input.role } }, state, {
          now,
        }),
      { ...ctx, actor: accountId },
      {
        alsoInTransaction: async (trx) => {
          const inserted = await trx.raw(
            `INSERT INTO identity_credentials (account_id, email, password_hash, role) VALUES (?, ?, ?, ?)
             ON CONFLICT (email) DO NOTHING RETURNING account_id`,
            [accountId, email, passwordHash, input.role],
          );
          if (inserted.rows.length === 0)
            throw new DomainError('conflict', 'EMAIL_TAKEN', 'an account with this email already exists');
        },
      },
    );
    return { ...result, accountId };
  }

  /** The account's notification channels; the values it already has append nothing. */
  async setNotificationPreferences(
    input: { accountId: string; email: boolean; push: boolean },
    ctx: CommandContext,
  ): Promise<CommandResult> {
    const { accountId, email, push } = input;
    return this.executor.execute(
      accounts,
      accountId,
      (state, now) =>
        accountDecider.decide({ type: 'SetNotificationPreferences', data: { accountId, email, push } }, state, {
          now,
        }),
      ctx,
    );
  }

  /** The account for these credentials, or null; constant-time-ish whether or not the email exists. */
  async verify(email: string, password: string): Promise<Credentials | null> {
    const row = await this.db('identity_credentials').where('email', normalizeEmail(email)).first();
    const ok = await bcrypt.compare(password, row ? (row.password_hash as string) : DUMMY_HASH);
    return row && ok
      ? { accountId: row.account_id as string, email: row.email as string, role: row.role as Role }
      : null;
  }

  async byId(accountId: string): Promise<Credentials | null> {
    const row = await this.db('identity_credentials').where('account_id', accountId).first();
    return row ? { accountId: row.account_id as string, email: row.email as string, role: row.role as Role } : null;
  }
}
