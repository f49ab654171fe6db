// Gets one token with the real Java azure-identity, configured by the environment only (IDENTITY_ENDPOINT,
// IDENTITY_HEADER), as an unchanged Java workload would. Usage: java -cp '<deps>/*' Probe.java <default|managed> <scope>
// Prints {"sha256","expires_on"} on success (a digest, never the token), the SDK's error on stderr and exit 1 otherwise.
import com.azure.core.credential.AccessToken;
import com.azure.core.credential.TokenCredential;
import com.azure.core.credential.TokenRequestContext;
import com.azure.identity.DefaultAzureCredentialBuilder;
import com.azure.identity.ManagedIdentityCredentialBuilder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;

public class Probe {
  public static void main(String[] args) throws Exception {
    if (args.length != 2) {
      System.err.println("usage: Probe <default|managed> <scope>");
      System.exit(2);
    }
    TokenCredential credential =
        switch (args[0]) {
          case "default" -> new DefaultAzureCredentialBuilder().build();
          case "managed" -> new ManagedIdentityCredentialBuilder().build();
          default -> throw new IllegalArgumentException("unknown credential " + args[0]);
        };
    try {
      AccessToken token = credential.getTokenSync(new TokenRequestContext().addScopes(args[1]));
      byte[] digest = MessageDigest.getInstance("SHA-256").digest(token.getToken().getBytes(StandardCharsets.UTF_8));
      System.out.println(
          "{\"sha256\":\"" + HexFormat.of().formatHex(digest) + "\",\"expires_on\":" + token.getExpiresAt().toEpochSecond() + "}");
    } catch (RuntimeException error) {
      // The chain as a stack trace shows it: azure-identity wraps MSAL's exception, which carries the endpoint's message.
      for (Throwable cause = error; cause != null; cause = cause.getCause()) System.err.println(cause);
      System.exit(1);
    }
  }
}
