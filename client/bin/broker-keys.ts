// `broker-keys`: package.json "bin"; scripts/build.mjs compiles it to dist/bin/broker-keys.js.
import { silenceAwsSdkNodeWarning } from '../../contract/aws-sdk-node-warning';
import { main } from '../keys/cli';

// An operator's command, not a library: the SDK's notice about Node.js 22 in 2027 would bury its one-line answer.
silenceAwsSdkNodeWarning();

process.exitCode = await main(process.argv.slice(2));
