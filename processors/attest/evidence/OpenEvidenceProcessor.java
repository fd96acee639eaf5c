package attest.evidence;

import attest.Exchanges;
import attest.http.CallerThread;
import attest.http.GatewayException;
import org.apache.camel.Exchange;
import org.apache.camel.AsyncCallback;
import org.apache.camel.support.AsyncProcessorSupport;

import java.time.Clock;
import java.util.concurrent.CompletableFuture;

/**
 * Commits the call's record as {@code open} before anything is forwarded. If the store is down the call
 * stops here with 503, so an upstream is never called without evidence.
 * <p>
 * Asynchronous: the routing thread is given back while the commit is waited for, and the route goes on on
 * the caller's connection thread once it is done (in place, waiting, for an exchange without a caller).
 */
public class OpenEvidenceProcessor extends AsyncProcessorSupport {
    private final EvidenceAssembler assembler;
    private final EvidenceWriter writer;
    private final Clock clock;

    private final String topic;

    public OpenEvidenceProcessor(EvidenceAssembler assembler, EvidenceWriter writer, Clock clock) {
        this(assembler, writer, clock, "attest.evidence.v1");
    }

    /** @param topic the Kafka topic of the terminal event of an open record committed after its call was refused */
    public OpenEvidenceProcessor(EvidenceAssembler assembler, EvidenceWriter writer, Clock clock, String topic) {
        this.assembler = assembler;
        this.writer = writer;
        this.clock = clock;
        this.topic = topic;
    }

    @Override
    public boolean process(Exchange exchange, AsyncCallback callback) {
        EvidenceRecord r = exchange.getProperty(Exchanges.EVIDENCE, EvidenceRecord.class);
        CompletableFuture<Void> commit;
        try {
            assembler.fill(r, exchange);
            r.setForwardedAt(clock.instant());
            r.setState(EvidenceRecord.OPEN);
            // a held call, executed after approval: its record exists
            boolean insert = !exchange.getProperty(Exchanges.EVIDENCE_WRITTEN, false, Boolean.class);
            // a store that stalls can commit this record after the call was refused for the wait (503, nothing
            // forwarded): the record is then completed as that call ended, never left open and said to be forwarded
            commit = writer.commit(r, insert, null, () -> closeRefused(r));
        } catch (RuntimeException e) {
            exchange.setException(e);
            callback.done(true);
            return true;
        }
        if (CallerThread.context(exchange) == null) {
            opened(exchange, r, commit.handle((ok, err) -> err).join());
            callback.done(true);
            return true;
        }
        commit.whenCompleteAsync((ok, err) -> {
            opened(exchange, r, err);
            callback.done(false);
        }, CallerThread.of(exchange, Runnable::run));
        return false;
    }

    /** The record of a call refused with 503 while its open record was being committed, which then committed. */
    private void closeRefused(EvidenceRecord r) {
        EvidenceRecord late = r.snapshot();
        late.setForwardedAt(null);
        late.setStatus(503);
        late.setErrorCode(attest.http.Outcomes.EVIDENCE_UNAVAILABLE);
        late.terminate(attest.http.Outcomes.ABORTED, clock.instant());
        // never refused for a full queue: this runs as a stall ends, the queue maybe still full of what it held
        writer.submitLate(late, false, EvidenceEvents.terminal(late, topic, clock.instant()));
    }

    private static void opened(Exchange exchange, EvidenceRecord r, Throwable err) {
        if (err != null) {
            r.setForwardedAt(null);
            exchange.setException(GatewayException.evidenceUnavailable());
            return;
        }
        exchange.setProperty(Exchanges.EVIDENCE_WRITTEN, true);
    }
}
