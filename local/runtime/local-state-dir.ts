import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The repository root's git-ignored `.local/`: the one home of every key file the local runtime generates (signing
 * key, sealing key, rotation state key), so one `rm -rf .local` resets them all.
 */
export const LOCAL_STATE_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '.local');
