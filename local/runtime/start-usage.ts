// What `npm start -- --help` prints and how it exits: local/runtime/main.ts runs it; the docs' tests read both.
import { DEFAULT_PORT } from './local-runtime';

/** Exit codes of `npm start`. */
export const START_EXIT = { ok: 0, failed: 1, usage: 2 } as const;

export const START_USAGE = `usage: npm start -- --config FILE [--port N]

Serves the broker's handlers on http://127.0.0.1:N (default ${DEFAULT_PORT}; 0 picks a free port) until SIGINT
(Ctrl-C) or SIGTERM. A relative FILE is read from the directory npm was run in.
FILE holds the broker configuration plus the local fields (issuer, signingKeyFile, signingKeyDir,
dynamodbEndpoint, tableName, region, sealingKeyFile, rotationStateKeyFile, localCredentials); see
docs/local-runtime.md and examples/local.json. With
"signer": "aws-sts" it also prints "aws issuer <url>" and "aws subject <role arn>" (docs/signers.md).

Exit codes: 0 stopped by SIGINT or SIGTERM (or --help), 1 a configuration or start-up error (the reason on stderr),
2 usage error`;
