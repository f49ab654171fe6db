// DynamoDB Local listening on 127.0.0.1 only. The jar has no host option and its Jetty binds every interface
// (0.0.0.0), where anyone on the network could read and write the token cache. This launcher builds the server
// exactly as the jar's own main class does (ServerRunner.createServerFromCommandLineArgs), reaches the private
// Jetty Server inside DynamoDBProxyServer, sets each connector's host to 127.0.0.1, and only then starts it.
// Compiled once by local/dynamodb-local/launcher.ts (javac --release 17) against the jar.
import java.lang.reflect.Field;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import com.amazonaws.services.dynamodbv2.local.main.ServerRunner;
import com.amazonaws.services.dynamodbv2.local.server.DynamoDBProxyServer;

public final class LoopbackDynamoDbLocal {
  private LoopbackDynamoDbLocal() {}

  public static void main(String[] args) throws Exception {
    DynamoDBProxyServer proxy = ServerRunner.createServerFromCommandLineArgs(args);
    Field field = DynamoDBProxyServer.class.getDeclaredField("server");
    field.setAccessible(true);
    Server server = (Server) field.get(proxy);
    int bound = 0;
    for (Connector connector : server.getConnectors()) {
      if (connector instanceof ServerConnector) {
        ((ServerConnector) connector).setHost("127.0.0.1");
        bound++;
      }
    }
    if (bound == 0) throw new IllegalStateException("DynamoDB Local has no ServerConnector to bind to 127.0.0.1");
    System.out.println("LoopbackDynamoDbLocal: listening on 127.0.0.1 only");
    proxy.start();
  }
}
