// The throughput section's yardsticks: `tsx local/bench/empty-server.ts PORT [--audit]` answers every request with a
// small JSON body from a bare node:http server, so the section can print the local runtime's rate as a share of what
// this machine serves at all, and a regression shows as a number whatever the machine's load. With `--audit` each
// request also writes the token route's audit line, as a memory hit does: built by the broker's own token
// observability (lambda/adapters/observability.ts: stock Powertools, the scrubbing formatter, the local runtime's
// keys and Lambda context), so the figure is the least a cache hit can cost while the log accounts for every token
// served, and the runtime's own share is the distance from it.
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { createTokenObservability } from '../../lambda/adapters/observability';
import type { CachedToken, TokenAudit } from '../../lambda/core/ports';
import { lambdaContext } from '../runtime/api-gateway-event';

const port = Number(process.argv[2]);
const withAudit = process.argv[3] === '--audit';
const body = '{"access_token":"x","token_type":"Bearer","expires_in":3599,"expires_on":0,"scope":"s"}';

/** What the audit line of a memory hit carries in the local runtime (lambda/handlers/token.ts), for one fixed token. */
function auditEveryRequest(): (requestId: string) => void {
  const observability = createTokenObservability({ persistentKeys: { runtime: 'local' }, deployment: 'local' });
  const audit: TokenAudit = observability.audit;
  observability.powertools.addContext(lambdaContext({ functionName: 'broker-token', timeoutMs: 29_000 }));
  const issuedOn = Math.floor(Date.now() / 1000);
  const token: CachedToken = {
    accessToken: 'x',
    issuedOn,
    expiresOn: issuedOn + 3600,
    scope: 'https://graph.microsoft.com/.default',
    uti: 'bench-uti',
    correlationId: randomUUID(),
  };
  return (apiRequestId) => audit.tokenServed({ alias: 'graph', cache: 'l1', token, callerArn: '', callerAccount: '', apiRequestId });
}

const audit = withAudit ? auditEveryRequest() : undefined;
let requests = 0;
createServer((_request, response) => {
  audit?.(`bench-${String(++requests)}`);
  response.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body) });
  response.end(body);
}).listen(port, '127.0.0.1', () => process.stdout.write(`listening on http://127.0.0.1:${port}\n`));
process.once('SIGTERM', () => process.exit(0));
