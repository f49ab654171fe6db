// The real Go azidentity (Go module proxy, pinned in sdk/go/go.mod), built once by install.sh, against the identity endpoint.
import { join } from 'node:path';
import { SDK_CACHE, describeSdk } from './sdk-cases';

const probe = join(SDK_CACHE, 'bin/go-probe');
describeSdk({ name: 'Go azidentity', command: [probe], requires: [probe] });
