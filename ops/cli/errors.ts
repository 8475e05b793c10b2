import { errorChain } from '../../runtime/error-chain.js';

// What the CLI reports when it fails. Every failure ends as ONE line on stderr and an exit code: 1 for a
// failure (a service down, a thing not found, an incompatible schema), 2 for a wrong invocation. Stack traces
// are for bugs, and only with LEDGER_DEBUG=1.

export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT_FAILURE,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** A service could not be reached or refused us; the message names it and where it was looked for. */
export class ServiceError extends CliError {
  constructor(
    readonly service: string,
    readonly address: string,
    readonly reason: string,
    reachable = false,
  ) {
    super(
      reachable ? `${service} at ${address} failed: ${reason}` : `cannot reach ${service} at ${address} (${reason})`,
    );
    this.name = 'ServiceError';
  }
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'ECONNABORTED',
]);

/**
 * Why a connection failed, when it is a network failure: a socket error code (ECONNREFUSED, ...) or a
 * timeout. Null when the error is something else (the service answered and refused the request).
 */
export function networkReason(error: unknown): string | null {
  const links = errorChain(error);
  for (const link of links) {
    if (typeof link.code === 'string' && NETWORK_CODES.has(link.code)) return link.code;
  }
  for (const link of links) {
    const message = typeof link.message === 'string' ? link.message : '';
    if (/timed? ?out|timeout/i.test(message)) return 'timed out';
    if (/bad port/i.test(message)) return 'bad port';
    // pg, when the peer closes the socket during the handshake (a proxy or firewall in the way).
    if (/connection terminated/i.test(message)) return 'connection closed';
  }
  return null;
}

/** The first line of an error's message, for one-line reports. */
export function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0]?.trim() || (error instanceof Error ? error.name : 'unknown error');
}

/** Turns a failure of a call to `service` into a ServiceError: unreachable, or reachable but refusing. */
export function serviceFailure(service: string, address: string, error: unknown): ServiceError {
  if (error instanceof ServiceError) return error;
  const reason = networkReason(error);
  return reason
    ? new ServiceError(service, address, reason)
    : new ServiceError(service, address, firstLine(error), true);
}

/** Rejects when `promise` has not settled within `ms`, so a silent service is reported quickly. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** host:port of a URL, without credentials or path, for messages. */
export function addressOf(url: string, defaultPort: number): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port || defaultPort}`;
  } catch {
    return url;
  }
}
