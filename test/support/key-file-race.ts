// `node --import tsx test/support/key-file-race.ts sealing|signing FILE`: loads or creates the default-path key at
// FILE, as a local runtime starting up does, and prints a digest of what it read (never the key itself).
import { createHash } from 'node:crypto';
import { loadOrCreateSealingKey } from '../../local/runtime/secret-key-file';
import { loadOrCreateSigningKey } from '../../local/runtime/signing-key-file';

const [kind, file] = process.argv.slice(2);
if (!file || (kind !== 'sealing' && kind !== 'signing')) throw new Error('usage: key-file-race.ts sealing|signing FILE');
const material =
  kind === 'sealing' ? (await loadOrCreateSealingKey(undefined, file)).key : (await loadOrCreateSigningKey(undefined, file)).pem;
process.stdout.write(`${createHash('sha256').update(material).digest('hex')}\n`);
