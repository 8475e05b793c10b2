import { MAX_COVER_LETTER } from '../../commands/marketplace/application.js';
import { MAX_AMOUNT_MINOR, MAX_MILESTONES } from '../../commands/marketplace/rules.js';
import {
  AVAILABILITIES,
  BUDGET_KINDS,
  MAX_RATING,
  MAX_REVIEW_TEXT,
  MAX_SKILLS,
  MIN_RATING,
} from '../../schemas/marketplace/vocabulary.js';
import { calendarDate } from '../schema-parts.js';

// JSON-schema fragments of the marketplace routes, with the deciders' limits. The deciders check the domain
// rules again (dates in the future, budget ranges, milestone sums): a schema cannot know today's date.

export const text = (maxLength: number) => ({ type: 'string', minLength: 1, maxLength }) as const;
export const optionalText = (maxLength: number) => ({ type: 'string', maxLength }) as const;
export const obj = (required: readonly string[], properties: Record<string, unknown>) =>
  ({ type: 'object', additionalProperties: false, required, properties }) as const;

export const amount = { type: 'integer', minimum: 1, maximum: MAX_AMOUNT_MINOR } as const;
export const currency = { type: 'string', pattern: '^[A-Z]{3}$' } as const;
export const country = { type: 'string', pattern: '^[A-Z]{2}$' } as const;
export const latitude = { type: ['number', 'null'], minimum: -90, maximum: 90 } as const;
export const longitude = { type: ['number', 'null'], minimum: -180, maximum: 180 } as const;
// Free text before normalisation (`Node JS` becomes `node-js`); the decider checks the normalised name.
export const skills = {
  type: 'array',
  maxItems: MAX_SKILLS,
  items: { type: 'string', minLength: 1, maxLength: 40 },
} as const;

export const location = obj(['city', 'country'], {
  city: text(100),
  country,
  lat: latitude,
  lon: longitude,
});

export const budget = obj(['kind', 'minMinor', 'maxMinor', 'currency'], {
  kind: { type: 'string', enum: [...BUDGET_KINDS] },
  minMinor: amount,
  maxMinor: amount,
  currency,
});

export const jobDetails = {
  title: text(200),
  description: text(10_000),
  skills,
  budget,
  deadline: calendarDate,
  remote: { type: 'boolean' },
  location: { anyOf: [location, { type: 'null' }] },
} as const;
export const JOB_DETAILS_REQUIRED = ['title', 'description', 'skills', 'budget', 'deadline', 'remote'] as const;

export const workerProfile = obj(
  ['headline', 'bio', 'skills', 'hourlyRateMinor', 'currency', 'location', 'availability'],
  {
    headline: text(200),
    bio: optionalText(5000),
    skills,
    hourlyRateMinor: amount,
    currency,
    location,
    availability: { type: 'string', enum: [...AVAILABILITIES] },
    portfolio: {
      type: 'array',
      maxItems: 50,
      items: obj(['title'], {
        title: text(200),
        url: { type: ['string', 'null'], maxLength: 500, pattern: '^https?://[^\\s]+$' },
        description: optionalText(2000),
      }),
    },
    experience: {
      type: 'array',
      maxItems: 50,
      items: obj(['title', 'organisation', 'startDate'], {
        title: text(200),
        organisation: text(200),
        startDate: calendarDate,
        endDate: { anyOf: [calendarDate, { type: 'null' }] },
        description: optionalText(2000),
      }),
    },
  },
);

export const hirerProfile = obj(['companyName', 'location'], { companyName: text(200), location });

export const coverLetter = optionalText(MAX_COVER_LETTER);

export const milestones = {
  type: 'array',
  minItems: 1,
  maxItems: MAX_MILESTONES,
  items: obj(['title', 'amountMinor', 'dueDate'], { title: text(200), amountMinor: amount, dueDate: calendarDate }),
} as const;

export const rating = { type: 'integer', minimum: MIN_RATING, maximum: MAX_RATING } as const;
export const reviewText = optionalText(MAX_REVIEW_TEXT);
