import { MONEY_PROJECTION, MONEY_VERSION, moneyReadModel } from '../../projections/marketplace/money.js';
import { PROFILES_PROJECTION, PROFILES_VERSION, profilesReadModel } from '../../projections/marketplace/profiles.js';
import { WORK_PROJECTION, WORK_VERSION, workReadModel } from '../../projections/marketplace/work.js';
import { cachedActiveVersion } from '../../projections/runtime/versions.js';
import type { QueryContext, ReadEnv } from '../context.js';
import { MoneyQueries } from './money.js';
import { ProfileQueries } from './profiles.js';
import { marketplaceSearch } from './search.js';
import { WorkQueries } from './work.js';

async function open({ config, readDb, search, waiter }: ReadEnv) {
  const workVersion = cachedActiveVersion(readDb, WORK_PROJECTION, WORK_VERSION);
  const profilesVersion = cachedActiveVersion(readDb, PROFILES_PROJECTION, PROFILES_VERSION);
  const moneyVersion = cachedActiveVersion(readDb, MONEY_PROJECTION, MONEY_VERSION);
  // The tables exist before the projector first runs, so queries answer "not found" instead of failing.
  await workReadModel(await workVersion()).createTables(readDb);
  await profilesReadModel(await profilesVersion()).createTables(readDb);
  await moneyReadModel(await moneyVersion()).createTables(readDb);
  return {
    work: new WorkQueries(readDb, workVersion),
    profiles: new ProfileQueries(readDb, profilesVersion),
    money: new MoneyQueries(readDb, moneyVersion),
    search: marketplaceSearch(search, config.topicPrefix),
    waiter,
    workProjection: async () => workReadModel(await workVersion()),
    profilesProjection: async () => profilesReadModel(await profilesVersion()),
    moneyProjection: async () => moneyReadModel(await moneyVersion()),
  };
}

export const marketplace = { name: 'marketplace', open } as const satisfies QueryContext<'marketplace'>;
