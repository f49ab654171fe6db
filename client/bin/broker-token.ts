// `broker-token`: package.json "bin"; scripts/build.mjs compiles it to dist/bin/broker-token.js.
import { main } from '../cli';

process.exitCode = await main(process.argv.slice(2));
