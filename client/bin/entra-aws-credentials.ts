// `entra-aws-credentials`: package.json "bin"; scripts/build.mjs compiles it to dist/bin/entra-aws-credentials.js.
import { main } from '../reverse-direction/cli';

process.exitCode = await main(process.argv.slice(2));
