import { describe, it } from 'vitest';
import { profileDecider, type WorkerProfile } from '../../../commands/marketplace/profile.js';
import { given } from '../../support/decider.js';
import { NOW, WORKER } from './fixtures.js';

const worker = (overrides: Partial<WorkerProfile> = {}): WorkerProfile => ({
  workerId: WORKER,
  headline: 'Tiler',
  bio: 'Twenty years of tiles',
  skills: ['Tiling'],
  hourlyRateMinor: 3500,
  currency: 'EUR',
  location: { city: 'Porto', country: 'PT', lat: 41.15, lon: -8.61 },
  availability: 'AVAILABLE',
  portfolio: [],
  experience: [],
  ...overrides,
});
const ctx = { now: NOW };

describe('Profile decider', () => {
  it('sets a worker profile with normalised skills; the same profile again is a no-op', () => {
    given(profileDecider)
      .when({ type: 'SetWorkerProfile', data: worker() }, ctx)
      .thenDecidesMatching([{ type: 'WorkerProfileUpdated', data: { skills: ['tiling'] } }])
      .when({ type: 'SetWorkerProfile', data: worker({ skills: ['tiling'] }) }, ctx)
      .thenNothing();
  });

  it('refuses half a coordinate, a zero rate and a hirer profile on a worker account', () => {
    given(profileDecider)
      .when(
        { type: 'SetWorkerProfile', data: worker({ location: { city: 'P', country: 'PT', lat: 1, lon: null } }) },
        ctx,
      )
      .thenRefuses('invalid', 'INVALID_COORDINATES');
    given(profileDecider)
      .when({ type: 'SetWorkerProfile', data: worker({ hourlyRateMinor: 0 }) }, ctx)
      .thenRefuses('invalid', 'AMOUNT_OUT_OF_RANGE');
    given(profileDecider)
      .when({ type: 'SetWorkerProfile', data: worker() }, ctx)
      .thenDecidesMatching([{ type: 'WorkerProfileUpdated' }])
      .when(
        {
          type: 'SetHirerProfile',
          data: { hirerId: WORKER, companyName: 'X', location: { city: 'P', country: 'PT', lat: null, lon: null } },
        },
        ctx,
      )
      .thenRefuses('conflict', 'PROFILE_KIND_MISMATCH');
  });
});
