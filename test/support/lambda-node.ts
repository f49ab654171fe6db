/**
 * The Node.js that Lambda runs (`nodejs24.x`), from the npm package `node`, which installs a real Node binary: .ci/run
 * runs the unit tests and the tests that load the Lambda entries on it too (keep its NODE24 the same), and the tests
 * that load the shipped bundles or need Node's type stripping (22.18+) take it when the suite runs on an older Node.
 */
import { execFileSync } from 'node:child_process';

export const LAMBDA_NODE_VERSION = '24.21.0';

const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);

/** Lambda's Node from npm (npx fetches it once, then takes it from its cache). */
function npmNode(): string {
  return execFileSync('npx', ['--yes', `node@${LAMBDA_NODE_VERSION}`, '-p', 'process.execPath'], { encoding: 'utf8' }).trim();
}

/** A Node binary of Lambda's major version (24): this one when it is, else Lambda's from npm. */
export function lambdaNode(): string {
  return major === 24 ? process.execPath : npmNode();
}

/** A Node binary that runs `.ts` files itself by stripping their types (22.18 or later): this one if it can. */
export function typeStrippingNode(): string {
  return major > 22 || (major === 22 && minor >= 18) ? process.execPath : npmNode();
}
