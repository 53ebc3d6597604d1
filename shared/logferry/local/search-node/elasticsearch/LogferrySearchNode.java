import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.elasticsearch.common.logging.LogConfigurator;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.env.Environment;
import org.elasticsearch.node.InternalSettingsPreparer;
import org.elasticsearch.node.Node;
import org.elasticsearch.plugins.PluginsLoader;

/**
 * One local Elasticsearch 8 node in the foreground, built from Maven Central jars: the server on
 * the class path, the Netty 4 transport as a module under HOME/modules. HTTP on 127.0.0.1 only,
 * single-node discovery, no x-pack (so no security: plain HTTP). Args: HOME DATA_DIR HTTP_PORT
 * CLUSTER_NAME; config and logs go under DATA_DIR. Stops on SIGTERM (shutdown hook).
 */
public final class LogferrySearchNode {
    private LogferrySearchNode() {
    }

    public static void main(final String[] args) throws Exception {
        if (args.length != 4) {
            System.err.println("usage: LogferrySearchNode HOME DATA_DIR HTTP_PORT CLUSTER_NAME");
            System.exit(2);
        }
        final Path dataDir = Path.of(args[1]);
        final Path config = Files.createDirectories(dataDir.resolve("config"));
        final Settings settings = Settings.builder()
                .put("path.home", args[0])
                .put("path.data", dataDir.resolve("data").toString())
                .put("path.logs", Files.createDirectories(dataDir.resolve("logs")).toString())
                .put("network.host", "127.0.0.1")
                .put("http.port", args[2])
                .put("transport.port", "0")
                .put("discovery.type", "single-node")
                .put("cluster.name", args[3])
                .put("node.name", "node-1")
                .put("cluster.routing.allocation.disk.threshold_enabled", "false")
                .build();
        final Environment env = InternalSettingsPreparer.prepareEnvironment(
                settings, Map.of(), config, () -> "node-1");
        LogConfigurator.configureESLogging();
        LogConfigurator.configureWithoutConfig(env.settings());
        // The server runs on the class path (not as a named module): no server exports service.
        final PluginsLoader plugins = PluginsLoader.createPluginsLoader(
                PluginsLoader.loadModulesBundles(env.modulesDir()),
                PluginsLoader.loadPluginsBundles(env.pluginsDir()), Map.of(), false);
        final Node node = new Node(env, plugins);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                node.close();
            } catch (final Exception e) {
                System.err.println("close failed: " + e);
            }
        }));
        node.start();
        Thread.currentThread().join();
    }
}
