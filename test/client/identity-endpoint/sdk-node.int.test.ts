// The real @azure/identity (the repository's own dependency) against the identity endpoint, as a child process so
// that the environment is all it is configured with.
import { join } from 'node:path';
import { SDK_DIR, describeSdk } from './sdk-cases';

const probe = join(SDK_DIR, 'node/probe.mjs');
describeSdk({ name: 'Node.js @azure/identity', command: [process.execPath, probe], requires: [probe] });
