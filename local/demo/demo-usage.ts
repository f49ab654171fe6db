// What `npm run demo -- --help` prints and how it exits: local/demo/main.ts runs it; the docs' tests read both.

/** Exit codes of `npm run demo`. */
export const DEMO_EXIT = { ok: 0, failed: 1, usage: 2 } as const;

export const DEMO_USAGE = `usage: npm run demo [-- --signer kms|aws-sts | --rotation | --reverse | --help]

Runs the broker's whole flow on 127.0.0.1 with no AWS or Azure account, then stops everything it started.
  (no option)        DynamoDB Local, the Entra ID emulator and the broker: discovery, JWKS, a token
                     exchanged at Entra, the same token from the cache, an unsigned request refused
  --signer aws-sts   the same with AWS STS outbound identity federation signing (its local stand-in)
  --rotation         a signing key's life on an 8-second schedule, with requests running all along
  --reverse          the reverse direction: an Azure managed identity gets an AWS role's credentials through
                     entra-aws-credentials as an AWS SDK profile's credential_process, the second time from its cache
  --help             this text

Exit codes: 0 the demo ran as expected, 1 it did not (the reason on stderr), 2 usage error`;
