package attest.evidence;

import attest.Exchanges;
import attest.evidence.chain.EvidenceChain;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.util.concurrent.DefaultEventExecutorGroup;
import org.apache.camel.Exchange;
import org.apache.camel.component.netty.NettyConstants;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.support.DefaultExchange;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The end of a call: its record committed, then (on the caller's thread, not the evidence writer's) its metrics and
 * access line, and the route goes on. Whatever the end line or the metrics throw, the call completes: an exchange
 * left uncompleted would hold its caller until the caller's own timeout and keep a drain waiting.
 */
class RecordEvidenceProcessorTest {
    static Database db;
    static DefaultEventExecutorGroup callers;

    @BeforeAll
    static void up() throws Exception {
        db = Database.open("", "", "", Files.createTempDirectory("attest-record-pg"), 0, 4, Duration.ofSeconds(2));
        callers = new DefaultEventExecutorGroup(1);
    }

    @AfterAll
    static void down() {
        callers.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        db.close();
    }

    static long records(String chain) throws java.sql.SQLException {
        try (java.sql.Connection c = db.dataSource().getConnection();
             java.sql.PreparedStatement ps = c.prepareStatement(
                     "SELECT count(*) FROM evidence_record WHERE instance_id = ?")) {
            ps.setString(1, chain);
            try (java.sql.ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }

    /** An exchange whose caller's connection is served by a handler thread of {@link #callers}. */
    static Exchange call(String chain) {
        EmbeddedChannel caller = new EmbeddedChannel();
        caller.pipeline().addLast(callers, "caller", new ChannelInboundHandlerAdapter());
        Exchange e = new DefaultExchange(new DefaultCamelContext());
        e.setProperty(Exchanges.EVIDENCE, ChainHeadHostileTest.record(chain));
        e.getMessage().setBody(new byte[0]);
        e.getMessage().setHeader(NettyConstants.NETTY_CHANNEL_HANDLER_CONTEXT, caller.pipeline().context("caller"));
        return e;
    }

    @Test
    void should_commit_then_end_the_call_on_the_callers_thread() throws Exception {
        String chain = "record-end";
        // a linger: the commit is the writer thread's (never in place), which completes it
        EvidenceWriter writer = new EvidenceWriter(db.sessionFactory(), new EvidenceChain(chain), 10, 4,
                Duration.ofMillis(1), Duration.ofSeconds(5));
        AtomicReference<String> endedOn = new AtomicReference<>();
        try {
            RecordEvidenceProcessor p = new RecordEvidenceProcessor(new EvidenceAssembler(chain), writer, "t",
                    Clock.systemUTC(), r -> endedOn.set(Thread.currentThread().getName()));
            Exchange e = call(chain);
            CompletableFuture<String> done = new CompletableFuture<>();
            p.process(e, sync -> done.complete(Thread.currentThread().getName()));
            String routeGoesOnAt = done.get(10, TimeUnit.SECONDS);
            assertThat(e.getException()).isNull();
            assertThat(e.getProperty(Exchanges.EVIDENCE_WRITTEN, Boolean.class)).isTrue();
            assertThat(endedOn.get()).as("metrics told on the caller's thread").isEqualTo(routeGoesOnAt)
                    .isNotEqualTo("attest-evidence-writer");
            assertThat(records(chain))
                    .isEqualTo(1);
        } finally {
            writer.close();
        }
    }

    @Test
    void should_complete_the_call_even_when_its_end_line_throws_an_error() throws Exception {
        String chain = "record-end-error";
        EvidenceWriter writer = new EvidenceWriter(db.sessionFactory(), new EvidenceChain(chain), 10, 4,
                Duration.ZERO, Duration.ofSeconds(5));
        try {
            RecordEvidenceProcessor p = new RecordEvidenceProcessor(new EvidenceAssembler(chain), writer, "t",
                    Clock.systemUTC(), r -> {
                        throw new AssertionError("metrics broke");
                    });
            Exchange e = call(chain);
            CompletableFuture<Boolean> done = new CompletableFuture<>();
            p.process(e, done::complete);
            assertThat(done.get(10, TimeUnit.SECONDS)).as("completed asynchronously").isFalse();
            assertThat(records(chain))
                    .as("the evidence was committed before the end line").isEqualTo(1);
        } finally {
            writer.close();
        }
    }
}
