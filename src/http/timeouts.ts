import type { FastifyInstance } from 'fastify';

/**
 * Ends requests whose body takes longer than `timeoutMs` to arrive. Node's own `requestTimeout` stops
 * applying once the headers are in and a handler reads the body, so a client dribbling a part a byte
 * at a time (slowloris) would otherwise hold a connection, a file and a part slot indefinitely.
 */
export function limitRequestTime(app: FastifyInstance, timeoutMs: number): void {
  if (timeoutMs <= 0) return;
  app.addHook('onRequest', async (request, reply) => {
    const timer = setTimeout(() => {
      request.log.info('request body too slow: closing the connection');
      request.raw.destroy(new Error('request timeout'));
      request.raw.socket?.destroy();
    }, timeoutMs);
    timer.unref();
    const clear = () => clearTimeout(timer);
    request.raw.once('end', clear).once('close', clear);
    reply.raw.once('finish', clear).once('close', clear);
  });
}
