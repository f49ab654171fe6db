// The real Python azure-identity (PyPI, pinned in sdk/python/requirements.txt) against the identity endpoint.
import { join } from 'node:path';
import { SDK_CACHE, SDK_DIR, describeSdk } from './sdk-cases';

const python = join(SDK_CACHE, 'python-venv/bin/python');
describeSdk({ name: 'Python azure-identity', command: [python, join(SDK_DIR, 'python/probe.py')], requires: [python] });
