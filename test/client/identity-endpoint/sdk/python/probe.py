"""Gets one token with the real Python azure-identity, configured by the environment only (IDENTITY_ENDPOINT,
IDENTITY_HEADER), as an unchanged Python workload would. Usage: python probe.py <default|managed> <scope>
Prints {"sha256","expires_on"} on success (a digest, never the token), the SDK's error on stderr and exit 1 otherwise."""
import hashlib
import json
import sys

from azure.identity import DefaultAzureCredential, ManagedIdentityCredential

kind, scope = sys.argv[1], sys.argv[2]
credential = DefaultAzureCredential() if kind == "default" else ManagedIdentityCredential()
try:
    token = credential.get_token(scope)
except Exception as error:  # the SDK's own message is what the test checks
    print(f"{type(error).__name__}: {error}", file=sys.stderr)
    sys.exit(1)
print(json.dumps({"sha256": hashlib.sha256(token.token.encode()).hexdigest(), "expires_on": token.expires_on}))
