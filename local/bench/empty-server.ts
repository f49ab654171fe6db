// The throughput section's yardstick: `tsx local/bench/empty-server.ts PORT` answers every request with a small JSON
// body from a bare node:http server, so the section can print the local runtime's rate as a share of what this machine
// serves at all, and a regression shows as a number whatever the machine's load.
import { createServer } from 'node:http';

const port = Number(process.argv[2]);
const body = '{"access_token":"x","token_type":"Bearer","expires_in":3599,"expires_on":0,"scope":"s"}';
createServer((_request, response) => {
  response.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body) });
  response.end(body);
}).listen(port, '127.0.0.1', () => process.stdout.write(`listening on http://127.0.0.1:${port}\n`));
process.once('SIGTERM', () => process.exit(0));
