import { randomInt } from 'node:crypto';
import { createServer } from 'node:net';

/**
 * Where ports are picked: below Linux's default ephemeral range (32768–60999), so an outgoing connection of this or
 * any other process (a test runner, npm, DynamoDB Local's clients) is never given the port between the moment it is
 * picked here and the moment its server binds it. Port 0 would hand out an ephemeral port, which the next outgoing
 * connection may take first: tests saw EADDRINUSE that way when several suites ran at once.
 */
const FIRST_PORT = 20_000;
const LAST_PORT = 32_000;
const ATTEMPTS = 50;

/** Whether 127.0.0.1:port can be bound now. */
function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * A free TCP port on 127.0.0.1, picked at random outside the ephemeral range (bound and released: another process
 * picking the same port at the same moment is the only race left, one chance in thousands).
 * @throws Error when no free port was found in 50 attempts
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const port = randomInt(FIRST_PORT, LAST_PORT);
    if (await canBind(port)) return port;
  }
  throw new Error(`no free port on 127.0.0.1 between ${String(FIRST_PORT)} and ${String(LAST_PORT)} after ${String(ATTEMPTS)} attempts`);
}
