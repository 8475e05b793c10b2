import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { MoneyQueries } from '../../queries/marketplace/money.js';
import type { WorkQueries } from '../../queries/marketplace/work.js';
import type { PositionWaiter } from '../../queries/read-your-writes.js';
import { principalOf } from '../auth.js';
import { HttpError } from '../errors.js';
import { position as after, id } from '../schema-parts.js';
import { canSeeContract } from './access.js';

// GET /queries/marketplace/...: the money. A worker's own wallet; a contract's escrow for its parties; the
// double-entry ledger, account balances and the trial balance for admins. `?after=<position>` waits for the
// caller's own write to reach the money read model.

type ProjectionRef = () => Promise<{ name: string; version: number; topics: readonly string[] }>;

export interface MoneyQueryDeps {
  readonly money: MoneyQueries;
  readonly work: WorkQueries;
  readonly waiter: PositionWaiter;
  readonly moneyProjection: ProjectionRef;
}

const afterOnly = { type: 'object', additionalProperties: false, properties: { after } } as const;
const ACCOUNT_PATTERN = '^[a-z-]+(:[A-Za-z0-9_-]{1,64})?$';

export function marketplaceMoneyQueriesPlugin(deps: MoneyQueryDeps) {
  const waitIfAsked = async (request: FastifyRequest) => {
    const position = (request.query as { after?: number }).after;
    if (position !== undefined) await deps.waiter.waitFor(position, await deps.moneyProjection());
  };

  return async (app: FastifyInstance): Promise<void> => {
    app.get(
      '/marketplace/wallet',
      { config: { roles: ['worker'] }, schema: { querystring: afterOnly } },
      async (request) => {
        await waitIfAsked(request);
        const { accountId } = principalOf(request);
        const wallet = await deps.money.wallet(accountId);
        if (!wallet)
          throw new HttpError(404, 'WALLET_NOT_FOUND', 'you have no wallet yet: it opens with your first release', {});
        return wallet;
      },
    );

    app.get<{ Params: { contractId: string } }>(
      '/marketplace/contracts/:contractId/escrow',
      {
        config: { roles: ['hirer', 'worker', 'admin'] },
        schema: {
          params: { type: 'object', required: ['contractId'], properties: { contractId: id } },
          querystring: afterOnly,
        },
      },
      async (request) => {
        await waitIfAsked(request);
        const { contractId } = request.params;
        const escrow = await deps.money.escrow(contractId);
        // The escrow's parties are the contract's: anyone else is told it does not exist.
        if (!escrow || !canSeeContract(principalOf(request), escrow)) {
          throw new HttpError(404, 'CONTRACT_NOT_FOUND', `contract ${contractId} does not exist`, {});
        }
        return escrow;
      },
    );

    app.get<{
      Querystring: { account?: string; contractId?: string; limit?: number; before?: number; after?: number };
    }>(
      '/marketplace/ledger',
      {
        config: { roles: ['admin'] },
        schema: {
          querystring: {
            type: 'object',
            additionalProperties: false,
            properties: {
              account: { type: 'string', pattern: ACCOUNT_PATTERN },
              contractId: id,
              limit: { type: 'integer', minimum: 1, maximum: 200, default: 50 },
              before: after,
              after,
            },
          },
        },
      },
      async (request) => {
        await waitIfAsked(request);
        const { account, contractId, limit = 50, before } = request.query;
        return deps.money.ledger({ account, contractId, limit, before });
      },
    );

    app.get<{ Querystring: { prefix?: string } }>(
      '/marketplace/ledger/balances',
      {
        config: { roles: ['admin'] },
        schema: {
          querystring: {
            type: 'object',
            additionalProperties: false,
            properties: { prefix: { type: 'string', pattern: '^[A-Za-z0-9:_-]{1,80}$' } },
          },
        },
      },
      async (request) => ({ items: await deps.money.balances(request.query.prefix) }),
    );

    app.get('/marketplace/ledger/trial-balance', { config: { roles: ['admin'] } }, async () =>
      deps.money.trialBalance(),
    );
  };
}
