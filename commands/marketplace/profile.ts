import type { HirerProfileUpdated, ProfileEvent, WorkerProfileUpdated } from '../../schemas/marketplace/events.js';
import { type DecideContext, type Decider, DomainError, type NoStream, noStream } from '../decider.js';
import { acceptSkills, assertAmount, assertCoordinates, sameData } from './rules.js';

// A marketplace profile: one stream per account (`profile-<accountId>`), a worker's or a hirer's. Each update
// carries the whole profile, so the latest event is the profile and read models need no merging.

export type { ProfileEvent };

export type WorkerProfile = Omit<WorkerProfileUpdated, 'updatedAt'>;
export type HirerProfile = Omit<HirerProfileUpdated, 'updatedAt'>;

export type ProfileCommand =
  | { type: 'SetWorkerProfile'; data: WorkerProfile }
  | { type: 'SetHirerProfile'; data: HirerProfile };

export type Profile =
  | NoStream
  | { readonly status: 'worker'; readonly profile: WorkerProfile }
  | { readonly status: 'hirer'; readonly profile: HirerProfile };

const kindTaken = (accountId: string, kind: string) =>
  new DomainError('conflict', 'PROFILE_KIND_MISMATCH', `account ${accountId} already has a ${kind} profile`, {
    accountId,
  });

export function decideProfile(command: ProfileCommand, state: Profile, { now }: DecideContext): ProfileEvent[] {
  const updatedAt = now.toISOString();
  switch (command.type) {
    case 'SetWorkerProfile': {
      if (state.status === 'hirer') throw kindTaken(command.data.workerId, 'hirer');
      const profile: WorkerProfile = { ...command.data, skills: acceptSkills(command.data.skills) };
      assertAmount(profile.hourlyRateMinor, 'hourlyRateMinor');
      assertCoordinates(profile.location);
      if (state.status === 'worker' && sameData(state.profile, profile)) return [];
      return [{ type: 'WorkerProfileUpdated', data: { ...profile, updatedAt } }];
    }
    case 'SetHirerProfile': {
      if (state.status === 'worker') throw kindTaken(command.data.hirerId, 'worker');
      assertCoordinates(command.data.location);
      if (state.status === 'hirer' && sameData(state.profile, command.data)) return [];
      return [{ type: 'HirerProfileUpdated', data: { ...command.data, updatedAt } }];
    }
  }
}

export function evolveProfile(_state: Profile, event: ProfileEvent): Profile {
  const { updatedAt: _, ...profile } = event.data;
  return event.type === 'WorkerProfileUpdated'
    ? { status: 'worker', profile: profile as WorkerProfile }
    : { status: 'hirer', profile: profile as HirerProfile };
}

export const profileDecider: Decider<ProfileCommand, ProfileEvent, Profile, DecideContext> = {
  decide: decideProfile,
  evolve: evolveProfile,
  initialState: noStream,
};
