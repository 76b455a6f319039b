import type { IncomingMessage, Server, ServerResponse } from 'node:http';

/** Requests that asked for `100 Continue` and have not been sent it. */
const awaiting = new WeakSet<IncomingMessage>();

/**
 * `Expect: 100-continue` (curl sends it for bodies over 1 MiB): the `100 Continue` goes out when the
 * body is first read, that is once the token, the session and the range have been checked and the
 * handler wants the bytes (Go's net/http does the same). A request refused before that gets its final
 * answer instead of the `100`, so the client never sends the body; Node then closes the connection,
 * since the body it announced will not follow.
 *
 * Without a `checkContinue` listener Node would answer `100` at once, before any check.
 */
export function continueWhenBodyIsRead(server: Server): void {
  server.on('checkContinue', (request: IncomingMessage, response: ServerResponse) => {
    awaiting.add(request);
    // Every way of reading a stream (read, data, pipe, async iteration) asks `_read` for bytes first.
    const read = request._read;
    request._read = function continueThenRead(size) {
      request._read = read;
      if (awaiting.delete(request) && !response.headersSent) response.writeContinue();
      return read.call(this, size);
    };
    server.emit('request', request, response);
  });
}

/** Whether the client still waits for a `100 Continue` before it sends the body. */
export function awaitsContinue(request: IncomingMessage): boolean {
  return awaiting.has(request);
}

/** The final answer goes out instead: no `100` is written after it, even if the body is then read. */
export function refuseContinue(request: IncomingMessage): void {
  awaiting.delete(request);
}
