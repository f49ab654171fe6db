/** The emulator's HTTP plumbing: bounded body reads, Entra-style JSON answers, listening and closing. */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { AnswerIds } from './aadsts';

const MAX_BODY_BYTES = 64 * 1024;

export async function readBody(req: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buffer.length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function sendJson(res: ServerResponse, status: number, body: unknown, ids: AnswerIds, cacheControl = 'no-store, no-cache'): void {
  sendRaw(res, status, JSON.stringify(body), {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': cacheControl,
    pragma: 'no-cache',
    'x-ms-request-id': ids.traceId,
    ...(ids.fromClient ? { 'client-request-id': ids.correlationId } : {}),
  });
}

export function sendRaw(res: ServerResponse, status: number, body: string, headers: Readonly<Record<string, string>>): void {
  // The client may have given up (timeout tests): writing to a dead socket would only raise errors.
  if (res.destroyed || res.headersSent) return;
  res.writeHead(status, { ...headers, 'content-length': Buffer.byteLength(body) }).end(body);
}

/**
 * Resolves after `ms`, or at once when `signal` aborts; with no `ms`, only when it aborts. The listener is
 * removed either way, but each pending sleep holds one: give it a per-request signal, not a shared one.
 */
export function sleep(ms: number | undefined, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = ms === undefined ? undefined : setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}

export function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      const address = server.address();
      if (address === null || typeof address === 'string') return reject(new Error('the emulator has no TCP address'));
      resolve(address.port);
    });
  });
}

export function closeServer(server: Server, sockets: Set<Socket>, closing: AbortController): Promise<void> {
  closing.abort();
  return new Promise((resolve, reject) => {
    server.close((error) => (error && (error as NodeJS.ErrnoException).code !== 'ERR_SERVER_NOT_RUNNING' ? reject(error) : resolve()));
    for (const socket of sockets) socket.destroy();
  });
}

export function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
