// The extension's entry, bundled into the layer as broker-identity-endpoint/main.mjs (scripts/build-identity-layer.mjs).
// Lambda runs the layer's extensions/broker-identity-endpoint, which runs the layer's Node.js on this file with its
// own file name as the argument: the name the extension registers as.
import { IDENTITY_EXTENSION_NAME } from '../../../contract/identity-endpoint-extension';
import { runExtension } from './extension';

const code = await runExtension({ name: process.argv[2] ?? IDENTITY_EXTENSION_NAME, env: process.env });
// Exit now, whatever still holds the event loop (idle keep-alive sockets to the broker): Lambda waits for the process.
process.exit(code);
