package attest.ops;

import attest.evidence.Outcome;
import org.apache.camel.CamelContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * The graceful drain that SIGTERM starts, before Camel stops:
 * <ol>
 *   <li>readiness turns false (load balancers stop sending calls), and calls are still served for the
 *       readiness grace period, while that news travels;</li>
 *   <li>the data plane stops accepting calls: a call that still arrives is refused with 503 (and recorded);</li>
 *   <li>calls in flight finish, within the drain timeout; streams within the stream bound, past which they are
 *       cut and closed as {@code aborted};</li>
 *   <li>every stream's evidence is committed; then the gateway stops (writer drained, final checkpoint) and the
 *       process exits 0.</li>
 * </ol>
 */
public final class Drain {
    private static final Logger LOG = LoggerFactory.getLogger(Drain.class);

    /** The name it is bound under in the registry (App finds it there on SIGTERM). */
    public static final String BEAN = "attestDrain";

    /** The data plane's route: its exchanges in flight are the calls being served. */
    public static final String DATA_ROUTE = "inference-ingress";

    private final Readiness readiness;
    private final InFlightStreams streams;
    private final CamelContext context;
    private final Duration readinessGrace;
    private final Duration callTimeout;
    private final Duration streamTimeout;
    private final Duration commitTimeout;
    private volatile boolean refusing;

    public Drain(Readiness readiness, InFlightStreams streams, CamelContext context, Duration readinessGrace,
                 Duration callTimeout, Duration streamTimeout, Duration commitTimeout) {
        this.readiness = readiness;
        this.streams = streams;
        this.context = context;
        this.readinessGrace = readinessGrace;
        this.callTimeout = callTimeout;
        this.streamTimeout = streamTimeout;
        this.commitTimeout = commitTimeout;
    }

    /**
     * Makes SIGTERM drain the gateway and then complete {@code main} (which stops Camel and lets the process exit
     * with main's code, 0), instead of the JVM's default of running shutdown hooks and exiting 143. Only the
     * process entry point installs it; a gateway embedded in a test JVM never takes over that JVM's signals.
     */
    public static void onSigterm(org.apache.camel.main.Main main) {
        sun.misc.Signal.handle(new sun.misc.Signal("TERM"), signal -> new Thread(() -> {
            LOG.info("SIGTERM: draining");
            CamelContext ctx = main.getCamelContext();
            Drain drain = ctx == null ? null : ctx.getRegistry().lookupByNameAndType(BEAN, Drain.class);
            try {
                if (drain != null) {
                    drain.run();
                }
            } finally {
                main.completed();
            }
        }, "attest-drain").start());
    }

    /** True once new calls are refused. */
    public boolean refusing() {
        return refusing;
    }

    /** Runs the drain; returns when nothing is in flight any more (or the bounds have passed). */
    public synchronized void run() {
        if (refusing) {
            return;
        }
        long started = System.nanoTime();
        readiness.startDraining();
        LOG.info("drain: not ready any more; serving for {} ms more while load balancers notice",
                readinessGrace.toMillis());
        pause(readinessGrace);
        refusing = true;
        int calls = callsInFlight();
        LOG.info("drain: refusing new calls; {} calls and {} streams in flight", calls, streams.size());
        if (!waitFor(() -> callsInFlight() == 0, callTimeout)) {
            LOG.warn("drain: {} calls still in flight after {} ms; Camel's shutdown takes over", callsInFlight(),
                    callTimeout.toMillis());
        }
        if (!waitFor(() -> streams.size() == 0, streamTimeout)) {
            int cut = streams.abortAll(Outcome.ABORTED);
            LOG.warn("drain: {} streams still open after {} ms: cut, closed as aborted", cut, streamTimeout.toMillis());
            if (!waitFor(() -> streams.size() == 0, commitTimeout)) {
                LOG.warn("drain: {} cut streams could not commit their evidence in time", streams.size());
            }
        }
        LOG.info("drain: done in {} ms; stopping", TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started));
    }

    private int callsInFlight() {
        return context.getInflightRepository().size(DATA_ROUTE);
    }

    private static boolean waitFor(BooleanSupplier done, Duration bound) {
        long deadline = System.nanoTime() + bound.toNanos();
        while (!done.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                return false;
            }
            pause(Duration.ofMillis(50));
        }
        return true;
    }

    private static void pause(Duration d) {
        try {
            TimeUnit.NANOSECONDS.sleep(d.toNanos());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
