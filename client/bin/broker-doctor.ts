// `broker-doctor`: package.json "bin"; scripts/build.mjs compiles it to dist/bin/broker-doctor.js.
import { main } from '../doctor/cli';

process.exitCode = await main(process.argv.slice(2));
