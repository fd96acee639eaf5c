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

    public OpenEvidenceProcessor(EvidenceAssembler assembler, EvidenceWriter writer, Clock clock) {
        this.assembler = assembler;
        this.writer = writer;
        this.clock = clock;
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
            // a store that stalls past the commit timeout: refused with 503 before this record's commit is sent, and
            // then never committed (never said to be forwarded); once sent, the store's outcome is waited for
            commit = writer.commit(r, insert, null);
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

    private static void opened(Exchange exchange, EvidenceRecord r, Throwable err) {
        if (err != null) {
            r.setForwardedAt(null);
            exchange.setException(GatewayException.evidenceUnavailable());
            return;
        }
        exchange.setProperty(Exchanges.EVIDENCE_WRITTEN, true);
    }
}
