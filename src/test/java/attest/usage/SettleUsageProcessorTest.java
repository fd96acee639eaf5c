package attest.usage;

import attest.Exchanges;
import attest.upstream.StreamRelay;
import attest.upstream.UpstreamResponse;
import org.apache.camel.Exchange;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.support.DefaultExchange;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import javax.sql.DataSource;
import java.lang.reflect.Proxy;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A stream's usage is charged to its budgets (a database transaction) on the settling executor, never on the thread
 * that ended the stream: that is an event loop carrying other calls' streams (the upstream client's or the caller's),
 * or the idle watch.
 */
class SettleUsageProcessorTest {
    private final ExecutorService settling = Executors.newSingleThreadExecutor(r -> new Thread(r, "settling"));
    private final ExecutorService loop = Executors.newSingleThreadExecutor(r -> new Thread(r, "event-loop"));

    @AfterEach
    void stop() {
        settling.shutdownNow();
        loop.shutdownNow();
    }

    /** A database that records the thread asking it for a connection, and refuses it (the charge then fails alone). */
    private static DataSource recording(AtomicReference<String> askedOn) {
        return (DataSource) Proxy.newProxyInstance(DataSource.class.getClassLoader(), new Class<?>[]{DataSource.class},
                (proxy, method, args) -> {
                    if (method.getName().equals("getConnection")) {
                        askedOn.set(Thread.currentThread().getName());
                        throw new SQLException("refused");
                    }
                    throw new UnsupportedOperationException(method.getName());
                });
    }

    private Exchange streamed(StreamRelay relay, List<Limit> limits) {
        Exchange e = new DefaultExchange(new DefaultCamelContext());
        e.setProperty(Exchanges.USAGE, new UsageMeter());
        e.setProperty(Exchanges.UPSTREAM_RESPONSE, new UpstreamResponse(200, List.of(), null, relay, null));
        e.setProperty(Exchanges.LIMITS, limits);
        return e;
    }

    @Test
    void should_charge_a_streams_budgets_off_the_thread_that_ended_it() throws Exception {
        AtomicReference<String> askedOn = new AtomicReference<>();
        UsageLedger ledger = new UsageLedger(new UsageCounters(recording(askedOn), Clock.systemUTC()), Prices.none(),
                null, 10);
        StreamRelay relay = new StreamRelay(Clock.systemUTC(), 1024);
        new SettleUsageProcessor(ledger, settling).process(streamed(relay,
                List.of(new Limit("daily", "rule", "subject:alice", Limit.TOKENS, "day", 1_000))));
        assertThat(askedOn.get()).isNull(); // nothing is charged before the stream ends

        loop.submit(() -> relay.abort(attest.evidence.Outcome.CLIENT_ABORTED)).get(); // the stream ends on an event loop

        await().atMost(Duration.ofSeconds(10)).until(() -> askedOn.get() != null);
        assertThat(askedOn.get()).isEqualTo("settling");
    }

    @Test
    void should_charge_a_buffered_answers_budgets_at_once() {
        AtomicReference<String> askedOn = new AtomicReference<>();
        UsageLedger ledger = new UsageLedger(new UsageCounters(recording(askedOn), Clock.systemUTC()), Prices.none(),
                null, 10);
        Exchange e = new DefaultExchange(new DefaultCamelContext());
        e.setProperty(Exchanges.USAGE, new UsageMeter());
        e.setProperty(Exchanges.UPSTREAM_RESPONSE, new UpstreamResponse(200, List.of(), new byte[0], null, null));
        e.setProperty(Exchanges.LIMITS, List.of(new Limit("daily", "rule", "subject:alice", Limit.TOKENS, "day", 1_000)));

        new SettleUsageProcessor(ledger, settling).process(e);

        assertThat(askedOn.get()).isEqualTo(Thread.currentThread().getName()); // the route's own thread
    }
}
