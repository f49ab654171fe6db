// `npm run entra-emulator -- [--port 8788] [--issuer http://127.0.0.1:8787]`: the Entra ID emulator on its
// own, trusting the broker of examples/local.json, so `npm start` can serve tokens with no account.
import { parseArgs } from 'node:util';
import { startEntraEmulator } from './emulator';

const USAGE = `usage: npm run entra-emulator -- [--port N] [--issuer URL] [--tenant GUID] [--client GUID] [--subject S] [--audience A] [--token-lifetime SECONDS]

Emulates Entra ID's token endpoint on http://127.0.0.1:N (default 8788) for one app registration whose
federated credential trusts --issuer (default http://127.0.0.1:8787, the broker of examples/local.json).
--token-lifetime sets expires_in of the tokens it issues (default 3599; Entra's range is 600 to 86400).`;

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '8788' },
    issuer: { type: 'string', default: 'http://127.0.0.1:8787' },
    tenant: { type: 'string', default: '11111111-1111-1111-1111-111111111111' },
    client: { type: 'string', default: '22222222-2222-2222-2222-222222222222' },
    subject: { type: 'string', default: 'aws-token-broker' },
    audience: { type: 'string', default: 'api://AzureADTokenExchange' },
    'token-lifetime': { type: 'string', default: '3599' },
    help: { type: 'boolean' },
  },
});
if (values.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  process.stderr.write(`--port: expected an integer from 0 to 65535, received ${JSON.stringify(values.port)}\n`);
  process.exit(2);
}
const tokenLifetimeSeconds = Number(values['token-lifetime']);
if (!Number.isInteger(tokenLifetimeSeconds) || tokenLifetimeSeconds <= 0) {
  process.stderr.write(`--token-lifetime: expected a positive number of seconds, received ${JSON.stringify(values['token-lifetime'])}\n`);
  process.exit(2);
}
const emulator = await startEntraEmulator({
  port,
  tokenLifetimeSeconds,
  apps: [
    {
      tenantId: values.tenant,
      clientId: values.client,
      federatedCredentials: [{ issuer: values.issuer, subject: values.subject, audiences: [values.audience] }],
    },
  ],
});
process.stdout.write(
  `Entra emulator on ${emulator.url}: tenant ${values.tenant}, app ${values.client}, trusting issuer ${values.issuer} subject ${values.subject}\n`,
);
const stop = () => void emulator.close().then(() => process.exit(0));
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
