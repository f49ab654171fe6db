// Gets one token with the real azidentity, configured by the environment only (IDENTITY_ENDPOINT, IDENTITY_HEADER),
// as an unchanged Go workload would. Usage: go run . <default|managed> <scope>
// Prints {"sha256","expires_on"} on success (a digest, never the token), the SDK's error on stderr and exit 1 otherwise.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: go run . <default|managed> <scope>")
		os.Exit(2)
	}
	var credential azcore.TokenCredential
	var err error
	switch os.Args[1] {
	case "default":
		credential, err = azidentity.NewDefaultAzureCredential(nil)
	case "managed":
		credential, err = azidentity.NewManagedIdentityCredential(nil)
	default:
		err = fmt.Errorf("unknown credential %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	token, err := credential.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{os.Args[2]}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	digest := sha256.Sum256([]byte(token.Token))
	out, _ := json.Marshal(map[string]any{"sha256": hex.EncodeToString(digest[:]), "expires_on": token.ExpiresOn.Unix()})
	fmt.Println(string(out))
}
