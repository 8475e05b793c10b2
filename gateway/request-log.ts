import { type FastifyReply, type FastifyRequest, LogController } from 'fastify';

/** The path of a request without its query string, which may carry an access token (`?access_token=` on SSE). */
export const loggedPath = (url: string): string => {
  const query = url.indexOf('?');
  return query < 0 ? url : url.slice(0, query);
};

/**
 * One log line per request, when it completes. Fastify's default controller writes two at info (`incoming
 * request` and `request completed`) and serialises the whole request into the first: measured at 0.2–0.9 ms a
 * request with a synchronous destination. The line carries the request and trace ids (the request's child
 * logger has them), the method, the path, the route, the status and the time taken.
 */
export class OneLineRequestLog extends LogController {
  override incomingRequest(): void {}

  /** Fastify's default 404 handler would add a line of its own; the completed line says 404 already. */
  override routeNotFound(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    const line = {
      method: request.method,
      path: loggedPath(request.url),
      route: request.routeOptions.url,
      statusCode: reply.statusCode,
      responseTime: reply.elapsedTime,
    };
    if (error) reply.log.error({ ...line, err: error }, 'request failed');
    else reply.log.info(line, 'request completed');
  }
}
