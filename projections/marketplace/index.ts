import { type ProjectionContext, postgresBacked } from '../context.js';
import { PROFILES_PROJECTION, PROFILES_VERSION, profilesReadModel } from './profiles.js';
import { WORK_PROJECTION, WORK_VERSION, workReadModel } from './work.js';

export const marketplace: ProjectionContext = {
  name: 'marketplace',
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
  ],
};
