import org.codelibs.opensearch.runner.OpenSearchRunner;

/**
 * One local OpenSearch node in the foreground: HTTP on 127.0.0.1 only, single-node discovery,
 * no security plugin (plain HTTP). Args: basePath dataPath httpPort clusterName.
 * Stops on SIGTERM (the shutdown hook closes the node).
 */
public final class LogferrySearchNode {
    /** Modules loaded: no scripting engines (Painless alone costs ~30 s of start-up). */
    private static final String MODULES = String.join(",",
            "org.opensearch.analysis.common.CommonAnalysisModulePlugin",
            "org.opensearch.analysis.common.CommonAnalysisPlugin",
            "org.opensearch.index.mapper.MapperExtrasModulePlugin",
            "org.opensearch.index.mapper.MapperExtrasPlugin",
            "org.opensearch.ingest.common.IngestCommonModulePlugin",
            "org.opensearch.ingest.common.IngestCommonPlugin",
            "org.opensearch.index.reindex.ReindexModulePlugin",
            "org.opensearch.index.reindex.ReindexPlugin",
            "org.opensearch.transport.Netty4ModulePlugin",
            "org.opensearch.transport.Netty4Plugin");

    private LogferrySearchNode() {
    }

    public static void main(final String[] args) throws Exception {
        if (args.length != 4) {
            System.err.println("usage: LogferrySearchNode BASE_PATH DATA_PATH HTTP_PORT CLUSTER_NAME");
            System.exit(2);
        }
        final OpenSearchRunner runner = new OpenSearchRunner();
        runner.setMaxHttpPort(-1);
        runner.onBuild((index, settings) -> {
            settings.put("network.host", "127.0.0.1");
            settings.put("http.port", args[2]);
            settings.put("transport.port", "0");
            settings.put("path.data", args[1]);
            settings.put("discovery.type", "single-node");
            settings.put("action.auto_create_index", "true");
            settings.put("cluster.routing.allocation.disk.threshold_enabled", "false");
        });
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                runner.close();
            } catch (final Exception e) {
                System.err.println("close failed: " + e);
            }
        }));
        runner.build(OpenSearchRunner.newConfigs().basePath(args[0]).numOfNode(1)
                .clusterName(args[3]).moduleTypes(MODULES));
        while (!runner.isClosed()) {
            Thread.sleep(1000);
        }
    }
}
