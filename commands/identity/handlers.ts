import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import type { Role } from '../../runtime/roles.js';
import { DomainError } from '../decider.js';
import { aggregateOf, type CommandContext, type CommandExecutor, type CommandResult } from '../executor.js';
import { acceptEmail, accountDecider, normalizeEmail } from './account.js';
import { checkPassword, DUMMY_HASH, hashPassword } from './passwords.js';

export const accounts = aggregateOf(accountDecider, {
  streamType: 'identity.account',
  streamId: (id) => `account-${id}`,
});

export interface Credentials {
  readonly accountId: string;
  readonly email: string;
  readonly role: Role;
}

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
    // Refused before the ~100 ms of hashing; the decider checks it again (it is pure, and the one rule).
    const email = acceptEmail(input.email);
    const passwordHash = await hashPassword(input.password);
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
          const inserted = await trx.query(
            `INSERT INTO identity_credentials (account_id, email, password_hash, role) VALUES ($1, $2, $3, $4)
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

  /**
   * The account for these credentials, or null; one query and one bcrypt comparison whether or not the email
   * exists. The email is looked up in its normalised form and, for accounts stored before issue 12 changed the
   * normalisation (trim and lower-case only), in that form too: their rows keep the form they were stored in.
   */
  async verify(email: string, password: string): Promise<Credentials | null> {
    const normalized = normalizeEmail(email);
    const legacy = email.trim().toLowerCase();
    const row = await this.db('identity_credentials')
      .whereIn('email', [normalized, legacy])
      .orderByRaw('email = ? DESC', [normalized])
      .first();
    const stored = row ? (row.password_hash as string) : DUMMY_HASH;
    const check = await checkPassword(password, stored);
    if (!row || check === 'mismatch') return null;
    if (check === 'legacy') {
      // A plain bcrypt hash from before the pre-hash: replaced now that the password is known (unless a
      // concurrent login already did).
      await this.db('identity_credentials')
        .where({ account_id: row.account_id, password_hash: stored })
        .update({ password_hash: await hashPassword(password) });
    }
    return { accountId: row.account_id as string, email: row.email as string, role: row.role as Role };
  }

  async byId(accountId: string): Promise<Credentials | null> {
    const row = await this.db('identity_credentials').where('account_id', accountId).first();
    return row ? { accountId: row.account_id as string, email: row.email as string, role: row.role as Role } : null;
  }
}
