// Starts AWS's DynamoDB Local exactly as its own `ServerRunner` would, but bound to one
// address (default 127.0.0.1) instead of every interface: DynamoDB Local has no host option,
// and the machines running the local stack are shared. Run in Java's single-file source mode:
//   java -Djava.library.path=<dir>/DynamoDBLocal_lib -cp <dir>/DynamoDBLocal.jar \
//        [-Dbind.host=127.0.0.1] scripts/DynamoDBLocalLoopback.java -inMemory -sharedDb -port P
import java.lang.reflect.Field;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import software.amazon.dynamodb.services.local.main.ServerRunner;
import software.amazon.dynamodb.services.local.server.DynamoDBProxyServer;

public class DynamoDBLocalLoopback {
    public static void main(String[] args) throws Exception {
        String host = System.getProperty("bind.host", "127.0.0.1");
        DynamoDBProxyServer proxy = ServerRunner.createServerFromCommandLineArgs(args);
        if (proxy == null) {
            return; // -help / -version, or bad arguments (already reported)
        }
        // DynamoDBProxyServer builds `new Server(port)`; set the host on its connector before start.
        Field field = DynamoDBProxyServer.class.getDeclaredField("server");
        field.setAccessible(true);
        Server server = (Server) field.get(proxy);
        for (Connector connector : server.getConnectors()) {
            ((ServerConnector) connector).setHost(host);
        }
        proxy.start();
        System.out.println("DynamoDB Local listening on " + host + ":" + ((ServerConnector) server.getConnectors()[0]).getPort());
        proxy.join();
    }
}
