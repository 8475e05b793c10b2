import { type PostgresProjectionEntry, type ProjectionContext, postgresBacked } from '../context.js';
import { LIVE_STATUS_PROJECTION, LIVE_STATUS_VERSION, liveStatusProjection } from './live-status.js';
import { MONEY_PROJECTION, MONEY_VERSION, moneyReadModel } from './money.js';
import { marketplaceNotifications } from './notifications.js';
import { PROFILES_PROJECTION, PROFILES_VERSION, profilesReadModel } from './profiles.js';
import { aliasedIndexes, switchAliases } from './search/indexes.js';
import { SEARCH_PROJECTION, SEARCH_VERSION, searchReadModel } from './search/read-model.js';
import { WORK_PROJECTION, WORK_VERSION, workReadModel } from './work.js';

const search: PostgresProjectionEntry = {
  kind: 'postgres',
  name: SEARCH_PROJECTION,
  description: 'jobs and workers for search (staged in PostgreSQL, indexed in Elasticsearch behind read aliases)',
  initialVersion: SEARCH_VERSION,
  topics: ['marketplace.job', 'marketplace.profile', 'marketplace.contract'],
  model: async (version, env) => searchReadModel(await env.search(), version, env.config.topicPrefix),
  // Queries read the aliases, not projection_versions: `ledger projections rebuild marketplace.search` builds the
  // next version's indexes beside the live ones and points the aliases at them here.
  activated: async (version, env) => switchAliases(await env.search(), env.config.topicPrefix, version),
  readsFrom: async (version, env) => {
    const aliased = await aliasedIndexes(await env.search(), env.config.topicPrefix, version);
    return aliased.length > 0 ? `the search aliases point at ${aliased.join(', ')}` : null;
  },
};

export const marketplace: ProjectionContext = {
  name: 'marketplace',
  notifications: marketplaceNotifications,
  projections: [
    postgresBacked(
      WORK_PROJECTION,
      'jobs, applications, contracts with milestones and timeline: the dashboards and contract detail (PostgreSQL)',
      WORK_VERSION,
      workReadModel,
    ),
    postgresBacked(
      PROFILES_PROJECTION,
      'worker and hirer profiles, reviews and Bayesian reputation (PostgreSQL)',
      PROFILES_VERSION,
      profilesReadModel,
    ),
    postgresBacked(
      MONEY_PROJECTION,
      'escrows, wallets and the double-entry ledger of every money movement with its balances (PostgreSQL)',
      MONEY_VERSION,
      moneyReadModel,
    ),
    search,
    {
      kind: 'custom',
      name: LIVE_STATUS_PROJECTION,
      description:
        'hot application, contract and escrow status and each party’s live stream for SSE and WebSocket (Redis)',
      initialVersion: LIVE_STATUS_VERSION,
      topics: ['marketplace.application', 'marketplace.contract', 'marketplace.escrow'],
      make: async (version, env) =>
        liveStatusProjection(await env.redis(), { keyPrefix: env.config.topicPrefix, version }),
    },
  ],
};
