// Request bodies and callers for the marketplace's HTTP tests.

/** `YYYY-MM-DD` of the UTC day `days` from today. */
export const dayFromToday = (days: number): string =>
  new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);

export const asHirer = (id = 'hirer-1') => ({ 'x-actor-id': id, 'x-role': 'hirer' });
export const asWorker = (id = 'worker-1') => ({ 'x-actor-id': id, 'x-role': 'worker' });
export const asAdmin = { 'x-actor-id': 'admin-1', 'x-role': 'admin' };

export const jobBody = (overrides: Record<string, unknown> = {}) => ({
  title: 'Kitchen renovation in Lisbon',
  description: 'Tiles and plumbing for a small kitchen',
  skills: ['Tiling', 'plumbing'],
  budget: { kind: 'FIXED', minMinor: 100_000, maxMinor: 300_000, currency: 'EUR' },
  deadline: dayFromToday(30),
  remote: false,
  location: { city: 'Lisbon', country: 'PT', lat: 38.72, lon: -9.14 },
  ...overrides,
});

export const applyBody = (jobId: string, overrides: Record<string, unknown> = {}) => ({
  jobId,
  coverLetter: 'I have tiled forty kitchens',
  proposedAmountMinor: 200_000,
  currency: 'EUR',
  ...overrides,
});

/** Three milestones summing to 200,000. */
export const threeMilestones = () => [
  { title: 'Demolition', amountMinor: 50_000, dueDate: dayFromToday(5) },
  { title: 'Plumbing', amountMinor: 70_000, dueDate: dayFromToday(10) },
  { title: 'Tiles', amountMinor: 80_000, dueDate: dayFromToday(20) },
];

export const workerProfileBody = (overrides: Record<string, unknown> = {}) => ({
  headline: 'Tiler and plumber',
  bio: 'Twenty years of kitchens',
  skills: ['Tiling', 'Plumbing'],
  hourlyRateMinor: 3500,
  currency: 'EUR',
  location: { city: 'Lisbon', country: 'PT', lat: 38.72, lon: -9.14 },
  availability: 'AVAILABLE',
  ...overrides,
});

/** The id a command answer names: `job-<id>` → `<id>`. */
export const idOf = (body: unknown, prefix: string): string =>
  (body as { streamId: string }).streamId.replace(new RegExp(`^${prefix}-`), '');
