// `broker-identity-endpoint`: package.json "bin"; scripts/build.mjs compiles it to dist/bin/broker-identity-endpoint.js.
import { main } from '../identity-endpoint/cli';

process.exitCode = await main(process.argv.slice(2));
