// Starts mongo-java-server as a local MongoDB stand-in.
// Usage: java -cp 'LIBDIR/*' EmbeddedMongo.java --port N [--data FILE | --memory]
// It reports MongoDB 4.4 / wire version 9 because pymongo 4.20 refuses servers below 9.
import de.bwaldvogel.mongo.MongoBackend;
import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.MongoVersion;
import de.bwaldvogel.mongo.backend.h2.H2Backend;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;
import java.util.List;
import java.util.concurrent.CountDownLatch;

public class EmbeddedMongo {
    static final class Mongo44 implements MongoVersion {
        public List<Integer> getVersionArray() { return List.of(4, 4, 0); }
        public int getWireVersion() { return 9; }
    }

    public static void main(String[] args) throws Exception {
        String host = "127.0.0.1";
        int port = 27018;
        String dataFile = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--port" -> port = Integer.parseInt(args[++i]);
                case "--host" -> host = args[++i];
                case "--data" -> dataFile = args[++i];
                case "--memory" -> dataFile = null;
                default -> { System.err.println("unknown argument: " + args[i]); System.exit(2); }
            }
        }
        MongoBackend backend = dataFile == null ? new MemoryBackend() : new H2Backend(dataFile);
        backend.version(new Mongo44());
        MongoServer server = new MongoServer(backend);
        try {
            server.bind(host, port);
        } catch (RuntimeException e) {
            System.err.println("embedded-db: cannot listen on " + host + ":" + port + " (" + e.getMessage() + ")");
            backend.close();
            System.exit(3);
        }
        System.out.println("embedded-db: listening on " + host + ":" + port
                + (dataFile == null ? " (memory, data is lost on exit)" : " (data in " + dataFile + ")"));
        System.out.flush();
        CountDownLatch stopped = new CountDownLatch(1);
        // SIGTERM / Ctrl-C: close cleanly so the H2 store commits to disk.
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.shutdown();
            stopped.countDown();
        }));
        stopped.await();
    }
}
