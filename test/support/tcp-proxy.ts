/**
 * TCP stand-ins for a slow or dead service on 127.0.0.1: a proxy that holds back every answer, and a
 * listener that accepts connections and never answers.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export interface DelayingProxy {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** Each chunk from the target reaches the client this long after it arrived (in order); change it at any time. */
  delayMs: number;
  close(): Promise<void>;
}

/** Forwards 127.0.0.1:<new port> to `target` (`http://host:port`), holding back what the target sends by `delayMs`. */
export async function startDelayingProxy(target: string, delayMs: number): Promise<DelayingProxy> {
  const { hostname, port } = new URL(target);
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(Number(port), hostname);
    sockets.add(client).add(upstream);
    let queue = Promise.resolve();
    const later = (action: () => void): void => {
      const at = Date.now() + proxy.delayMs;
      queue = queue.then(() => new Promise((resolve) => setTimeout(resolve, Math.max(0, at - Date.now())))).then(action);
    };
    client.on('data', (chunk: Buffer) => upstream.write(chunk));
    upstream.on('data', (chunk: Buffer) => {
      later(() => {
        if (!client.destroyed) client.write(chunk);
      });
    });
    upstream.on('end', () => {
      later(() => client.end());
    });
    client.on('close', () => {
      upstream.destroy();
      sockets.delete(client);
    });
    upstream.on('close', () => {
      later(() => client.destroy());
      sockets.delete(upstream);
    });
    client.on('error', () => undefined);
    upstream.on('error', () => undefined);
  });
  const proxy: DelayingProxy = {
    url: `http://127.0.0.1:${await listen(server)}`,
    delayMs,
    close: () => close(server, sockets),
  };
  return proxy;
}

export interface SilentServer {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  close(): Promise<void>;
}

/** Accepts every connection and never sends a byte. */
export async function startSilentServer(): Promise<SilentServer> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.resume(); // read and ignore the requests
  });
  const url = `http://127.0.0.1:${await listen(server)}`;
  return { url, close: () => close(server, sockets) };
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

function close(server: Server, sockets: Set<Socket>): Promise<void> {
  for (const socket of sockets) socket.destroy();
  return new Promise((resolve) => server.close(() => resolve()));
}
