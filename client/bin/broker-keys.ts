// `broker-keys`: package.json "bin"; scripts/build.mjs compiles it to dist/bin/broker-keys.js.
import { main } from '../keys/cli';

process.exitCode = await main(process.argv.slice(2));
