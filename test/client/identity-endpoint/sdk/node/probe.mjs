// Gets one token with the real @azure/identity, configured by the environment only (IDENTITY_ENDPOINT,
// IDENTITY_HEADER), as an unchanged Node.js workload would. Usage: node probe.mjs <default|managed> <scope>
// Prints {"sha256","expires_on"} on success (a digest, never the token), the SDK's error on stderr and exit 1 otherwise.
import { createHash } from 'node:crypto';
import { DefaultAzureCredential, ManagedIdentityCredential } from '@azure/identity';

const [kind, scope] = process.argv.slice(2);
const credential = kind === 'default' ? new DefaultAzureCredential() : new ManagedIdentityCredential();
try {
  const token = await credential.getToken(scope);
  const sha256 = createHash('sha256').update(token.token).digest('hex');
  process.stdout.write(`${JSON.stringify({ sha256, expires_on: Math.floor(token.expiresOnTimestamp / 1000) })}\n`);
} catch (error) {
  process.stderr.write(`${error.name}: ${error.message}\n`);
  process.exitCode = 1;
}
