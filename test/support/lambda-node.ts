/**
 * The Node.js that Lambda runs (`nodejs24.x`), from the npm package `node`, which installs a real Node binary: .ci/run
 * runs the unit tests and the tests that load the Lambda entries on it too (keep its NODE24 the same), and tests that
 * need Node's type stripping (22.18+) take it when the suite itself runs on an older Node.
 */
import { execFileSync } from 'node:child_process';

export const LAMBDA_NODE_VERSION = '24.21.0';

/** True when this Node runs `.ts` files by stripping their types, with no flag (Node.js 22.18 or later). */
export function stripsTypes(version: string = process.versions.node): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  return major > 22 || (major === 22 && minor >= 18);
}

/** A Node binary that runs TypeScript itself: this one if it can, else Lambda's from npm (fetched once by npx, then cached). */
export function typeStrippingNode(): string {
  if (stripsTypes()) return process.execPath;
  return execFileSync('npx', ['--yes', `node@${LAMBDA_NODE_VERSION}`, '-p', 'process.execPath'], { encoding: 'utf8' }).trim();
}
