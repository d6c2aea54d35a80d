// Starts mongo-java-server as a local MongoDB stand-in.
// Usage: java -cp 'LIBDIR/*' EmbeddedMongo.java --port N [--data FILE [--durable | --no-durable] | --memory]
// It reports MongoDB 4.4 / wire version 9 because pymongo 4.20 refuses servers below 9.
// With --data (H2 MVStore file) every write command is committed and fsynced before its reply
// leaves ("durable", the default); --no-durable keeps the library's own behaviour (a background
// commit about once a second), which loses acknowledged writes when the process is killed.
// buildInfo carries embeddedStandIn / embeddedBackend / durableWrites so clients can tell this
// stand-in from a real MongoDB.
import de.bwaldvogel.mongo.MongoBackend;
import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.MongoVersion;
import de.bwaldvogel.mongo.backend.h2.H2Backend;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;
import de.bwaldvogel.mongo.bson.Document;
import io.netty.channel.Channel;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.h2.mvstore.MVStore;

public class EmbeddedMongo {
    static final class Mongo44 implements MongoVersion {
        public List<Integer> getVersionArray() { return List.of(4, 4, 0); }
        public int getWireVersion() { return 9; }
    }

    /** Adds the stand-in marker to a buildInfo reply (real MongoDB has none of these fields). */
    static Document markBuildInfo(String command, Document reply, String backend, boolean durable) {
        if (command.equalsIgnoreCase("buildinfo") && reply != null) {
            reply.put("embeddedStandIn", Boolean.TRUE);
            reply.put("embeddedBackend", backend);
            reply.put("durableWrites", durable);
        }
        return reply;
    }

    /** The memory backend, unchanged apart from the buildInfo marker. */
    static final class MemoryStandIn extends MemoryBackend {
        @Override
        public Document handleCommand(Channel channel, String database, String command, Document query) {
            return markBuildInfo(command, super.handleCommand(channel, database, command, query), "memory", false);
        }
    }

    /**
     * The H2 (MVStore file) backend. Durable (the default): a write command's reply is sent only
     * after its changes are committed and fsynced. Not durable: the library as shipped (a
     * background commit about once a second), kept only to measure and demonstrate the loss.
     */
    static final class H2StandIn extends H2Backend {
        // Commands that never change stored data; everything else (insert, update, delete,
        // findAndModify, create, drop, createIndexes, renameCollection, dropDatabase, commands
        // unknown here...) counts as a write, so a command missing from this list costs a
        // commit rather than losing one.
        private static final Set<String> READ_ONLY = Set.of(
            "find", "getmore", "count", "distinct", "listcollections", "listindexes",
            "listdatabases", "dbstats", "collstats", "serverstatus", "buildinfo", "ismaster",
            "hello", "ping", "whatsmyuri", "getlasterror", "getlog", "hostinfo", "getcmdlineopts",
            "connectionstatus", "getfreemonitoringstatus", "killcursors", "endsessions");
        // Stock MVStore keeps dead chunks 45 s before reusing their space, assuming the OS has
        // written everything by then. A commit per write makes a ~25 kB chunk per write, so 45 s
        // of them grew the file to 450 MB in a minute of heavy writes; every commit here is
        // fsynced (at once, or within a second by the sync net), so 10 s is ample.
        private static final int RETENTION_MS = 10_000;
        private static final int COMPACT_ON_CLOSE_MS = 2_000;

        private final boolean durable;
        // Write commands hold the read side while they run and our commit takes the write side,
        // so the versions we commit are states between commands, never half of one. (The
        // library's own writer does not take it; it commits only after a second without a
        // commit, or to compact.)
        private final ReentrantReadWriteLock commandGate = new ReentrantReadWriteLock();
        private final Object syncLock = new Object();
        private final AtomicLong writesFinished = new AtomicLong();
        private long writesDurable; // guarded by syncLock
        private final ScheduledExecutorService syncNet;
        private long netSyncedVersion = -1; // only touched by the syncNet thread

        H2StandIn(String fileName, boolean durable) {
            super(MVStore.open(fileName)); // as stock: the background writer also compacts the file
            this.durable = durable;
            if (durable) {
                getMvStore().setRetentionTime(RETENTION_MS);
                syncNet = Executors.newSingleThreadScheduledExecutor(task -> {
                    Thread thread = new Thread(task, "embedded-db-sync-net");
                    thread.setDaemon(true);
                    return thread;
                });
                syncNet.scheduleWithFixedDelay(this::syncBackgroundCommits, 1, 1, TimeUnit.SECONDS);
            } else {
                syncNet = null;
            }
        }

        @Override
        public Document handleCommand(Channel channel, String database, String command, Document query) {
            if (!durable || isReadOnly(command, query)) {
                return markBuildInfo(command, super.handleCommand(channel, database, command, query), "h2", durable);
            }
            try {
                commandGate.readLock().lock();
                try {
                    return super.handleCommand(channel, database, command, query);
                } finally {
                    commandGate.readLock().unlock();
                }
            } finally {
                // Also after a failed command: part of a batch may have been applied. If the
                // commit itself fails, its exception becomes the error reply, never an ack.
                makeDurable(writesFinished.incrementAndGet());
            }
        }

        private static boolean isReadOnly(String command, Document query) {
            String name = command.toLowerCase(Locale.ROOT);
            if (name.equals("aggregate")) {
                return !mentionsWriteStage(query.get("pipeline"));
            }
            return READ_ONLY.contains(name);
        }

        /** True if a pipeline (or a nested $facet) has an $out or $merge stage. */
        private static boolean mentionsWriteStage(Object node) {
            if (node instanceof Map<?, ?> map) {
                for (Map.Entry<?, ?> entry : map.entrySet()) {
                    if ("$out".equals(entry.getKey()) || "$merge".equals(entry.getKey())
                            || mentionsWriteStage(entry.getValue())) {
                        return true;
                    }
                }
            } else if (node instanceof List<?> list) {
                for (Object item : list) {
                    if (mentionsWriteStage(item)) {
                        return true;
                    }
                }
            }
            return false;
        }

        /**
         * Returns once the write that got ticket `ticket` is committed and fsynced. Group commit:
         * one commit covers every write finished before it started, so concurrent writers
         * share one fsync instead of queueing for one each.
         */
        private void makeDurable(long ticket) {
            synchronized (syncLock) {
                if (writesDurable >= ticket) {
                    return; // a commit that started after this write finished covered it
                }
                long upTo = writesFinished.get(); // every ticket <= upTo has finished its write
                MVStore store = getMvStore();
                commandGate.writeLock().lock();
                try {
                    store.commit(); // if anything changed: stores it and waits for the file write
                } finally {
                    commandGate.writeLock().unlock();
                }
                // The library's background writer may have taken these changes first and still
                // be writing them: this waits for its queue, then FileChannel.force(true).
                store.executeFilestoreOperation(store::sync);
                writesDurable = upTo;
            }
        }

        /** Fsyncs what the library's own writer committed (when idle, or after compacting). */
        private void syncBackgroundCommits() {
            try {
                MVStore store = getMvStore();
                long version = store.getCurrentVersion();
                if (version != netSyncedVersion && !store.isClosed()) {
                    store.executeFilestoreOperation(store::sync);
                    netSyncedVersion = version;
                }
            } catch (RuntimeException e) {
                // The store is closing or broken; the next write reports it to its client.
                System.err.println("embedded-db: background fsync failed: " + e);
            }
        }

        @Override
        public void close() {
            if (syncNet != null) {
                // Not shutdownNow(): an interrupt during FileChannel.force closes the channel.
                syncNet.shutdown();
                try {
                    syncNet.awaitTermination(10, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            if (durable) {
                // Commits, then compacts for at most 2 s: gives back the space the per-write
                // chunks took while running.
                getMvStore().close(COMPACT_ON_CLOSE_MS);
            }
            super.close(); // closes the store unless closed above
        }
    }

    public static void main(String[] args) throws Exception {
        String host = "127.0.0.1";
        int port = 27018;
        String dataFile = null;
        boolean durable = true;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--port" -> port = Integer.parseInt(args[++i]);
                case "--host" -> host = args[++i];
                case "--data" -> dataFile = args[++i];
                case "--memory" -> dataFile = null;
                case "--durable" -> durable = true;
                case "--no-durable" -> durable = false;
                default -> { System.err.println("unknown argument: " + args[i]); System.exit(2); }
            }
        }
        MongoBackend backend = dataFile == null ? new MemoryStandIn() : new H2StandIn(dataFile, durable);
        backend.version(new Mongo44());
        MongoServer server = new MongoServer(backend);
        try {
            server.bind(host, port);
        } catch (RuntimeException e) {
            System.err.println("embedded-db: cannot listen on " + host + ":" + port + " (" + e.getMessage() + ")");
            backend.close();
            System.exit(3);
        }
        String where = dataFile == null ? " (memory, data is lost on exit)"
                : " (data in " + dataFile + (durable ? ", committed before each write is acknowledged)"
                        : ", committed about once a second: NOT durable)");
        System.out.println("embedded-db: listening on " + host + ":" + port + where);
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
