#!/usr/bin/env node
// The `broker-token` bin: runs client/cli.ts without a build step. tsx's loader is registered first and the CLI is
// imported dynamically afterwards, because a static import would be resolved before the loader exists.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./cli.ts');
process.exitCode = await main(process.argv.slice(2));
