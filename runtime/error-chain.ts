/** What an error (or anything thrown) may carry that tells where a failure came from. */
export interface ErrorLink {
  readonly code?: unknown;
  readonly message?: unknown;
  readonly name?: unknown;
  readonly cause?: unknown;
  readonly errors?: unknown;
}

/**
 * The error and everything it wraps: `cause` chains (clients wrap the socket error) and AggregateError's
 * `errors` (a dual-stack connect that failed on every address). Bounded, so a cycle cannot hang a caller.
 */
export function errorChain(error: unknown, depth = 0): ErrorLink[] {
  if (depth > 5 || typeof error !== 'object' || error === null) return [];
  const link = error as ErrorLink;
  const nested = Array.isArray(link.errors) ? link.errors.flatMap((x: unknown) => errorChain(x, depth + 1)) : [];
  return [link, ...errorChain(link.cause, depth + 1), ...nested];
}
