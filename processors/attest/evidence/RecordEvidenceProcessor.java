package attest.evidence;

import attest.Exchanges;
import attest.http.CallerThread;
import attest.http.GatewayException;
import attest.upstream.StreamEnd;
import attest.upstream.StreamingHttpResponse;
import org.apache.camel.Exchange;
import org.apache.camel.AsyncCallback;
import org.apache.camel.support.AsyncProcessorSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Instant;
import java.util.concurrent.CompletableFuture;

/**
 * Completes the call's record and commits it, with its Kafka event in the same transaction, before the
 * response is released. For a stream the record was committed open before forwarding; this registers the
 * completion for the stream's end, and the stream's terminating chunk waits for that commit.
 * Fails with {@link EvidenceUnavailableException} when the commit fails; the route then answers 503.
 * Asynchronous: the routing thread is given back while the commit is waited for, and the route goes on on
 * the caller's connection thread once it is done (in place, waiting, for an exchange without a caller).
 */
public class RecordEvidenceProcessor extends AsyncProcessorSupport {
    private static final Logger LOG = LoggerFactory.getLogger(RecordEvidenceProcessor.class);
    /** One line per call once its evidence is committed (the access log; its level can be set on its own). */
    private static final Logger ACCESS = LoggerFactory.getLogger("attest.access");

    private final EvidenceAssembler assembler;
    private final EvidenceWriter writer;
    private final String topic;
    private final Clock clock;

    private final java.util.function.Consumer<EvidenceRecord> ended;

    public RecordEvidenceProcessor(EvidenceAssembler assembler, EvidenceWriter writer, String topic, Clock clock) {
        this(assembler, writer, topic, clock, r -> { });
    }

    /** @param ended told of each call whose terminal evidence was committed (metrics) */
    public RecordEvidenceProcessor(EvidenceAssembler assembler, EvidenceWriter writer, String topic, Clock clock,
                                   java.util.function.Consumer<EvidenceRecord> ended) {
        this.assembler = assembler;
        this.writer = writer;
        this.topic = topic;
        this.clock = clock;
        this.ended = ended;
    }

    @Override
    public boolean process(Exchange exchange, AsyncCallback callback) {
        Terminal terminal;
        try {
            terminal = record(exchange);
        } catch (RuntimeException e) {
            exchange.setException(e);
            callback.done(true);
            return true;
        }
        if (terminal == null) {
            callback.done(true);
            return true;
        }
        if (CallerThread.context(exchange) == null) {
            Throwable err = terminal.commit().handle((ok, e) -> e).join();
            committed(exchange, terminal, err);
            callback.done(true);
            return true;
        }
        // the rest, the access line and metrics included, on the caller's thread: the writer's thread, which
        // completes the commit, is the one every call's evidence goes through, and does nothing else
        terminal.commit().whenCompleteAsync((ok, err) -> {
            try {
                committed(exchange, terminal, err);
            } finally {
                callback.done(false); // whatever the end line or metrics throw, the call completes
            }
        }, CallerThread.of(exchange, Runnable::run));
        return false;
    }

    /** A terminal commit on its way, and what the call's end line needs once it is committed. */
    private record Terminal(CompletableFuture<Void> commit, EvidenceRecord record, String[] trace) {
    }

    private void committed(Exchange exchange, Terminal terminal, Throwable err) {
        committed(exchange, err);
        if (err == null) {
            logEnd(terminal.record(), terminal.trace());
        }
    }

    private static void committed(Exchange exchange, Throwable err) {
        if (err == null) {
            exchange.setProperty(Exchanges.EVIDENCE_WRITTEN, true);
        } else {
            exchange.setException(err instanceof EvidenceUnavailableException eu ? eu
                    : new EvidenceUnavailableException("evidence commit failed"));
        }
    }

    /** Completes the record and queues its commit; null when nothing is to be waited for here. */
    private Terminal record(Exchange exchange) {
        EvidenceRecord r = exchange.getProperty(Exchanges.EVIDENCE, EvidenceRecord.class);
        if (r == null) {
            throw new EvidenceUnavailableException("no evidence record on the exchange");
        }
        GatewayException error = exchange.getProperty(Exchanges.ERROR, GatewayException.class);
        if (error == null && r.getApprovalId() != null && exchange.getProperty(Exchanges.BUFFER_RESPONSE) == null) {
            // a held call: its record belongs to the approval, which completes it when the call is executed,
            // denied, expired or cancelled (the caller's own answer here is a wait, not the call's end)
            return null;
        }
        if (error != null && error.outcome() == Outcome.EVIDENCE_UNAVAILABLE) {
            // the store just refused this call's evidence: do not make the caller wait for a second failure
            throw new EvidenceUnavailableException("evidence store unavailable");
        }
        boolean written = exchange.getProperty(Exchanges.EVIDENCE_WRITTEN, false, Boolean.class);
        Object body = exchange.getMessage().getBody();
        if (body instanceof StreamingHttpResponse streaming) {
            completeWhenStreamEnds(exchange, r, streaming);
            return null;
        }
        byte[] delivered = exchange.getMessage().getBody(byte[].class);
        Outcome outcome = assembler.settle(r, exchange, delivered);
        Instant end = clock.instant();
        String[] trace = attest.ops.CallLogContext.trace(exchange);
        // a store that stalls or fails can fail this write (503, the answer withheld): a forwarded call's record,
        // committed open, is then completed as the call ended, whenever the store takes it, never left open
        return new Terminal(writer.commit(r, !written, EvidenceEvents.terminate(r, outcome, end, topic,
                clock.instant()), written ? () -> closeWithheld(r) : null), r, trace);
    }

    /** The record of a forwarded call whose answer was withheld (503) because its terminal write failed. */
    private void closeWithheld(EvidenceRecord r) {
        EvidenceRecord late = r.snapshot();
        late.setStatus(503);
        late.setErrorCode(Outcome.EVIDENCE_UNAVAILABLE.wire()); // the error code is the outcome's word
        writer.submitLate(late, false, EvidenceEvents.terminate(late, Outcome.ABORTED, clock.instant(), topic,
                clock.instant()));
    }

    /**
     * A call's evidence is committed: its metrics, and the access line (status, outcome and duration, with the
     * call's ids in the logging context; never a body).
     */
    private void logEnd(EvidenceRecord r, String[] trace) {
        try {
            ended.accept(r);
        } catch (RuntimeException e) {
            LOG.warn("call metrics failed: {}", e.getClass().getSimpleName());
        }
        if (ACCESS.isInfoEnabled()) {
            attest.ops.CallLogContext.with(attest.ops.CallLogContext.values(r, trace), () -> ACCESS.info(
                    "call ended: status={} outcome={} streamed={} duration_ms={}{}", r.getStatus(), r.getOutcome(),
                    Boolean.TRUE.equals(r.getStreamed()), r.getDurationMs(),
                    r.getErrorCode() == null ? "" : " error=" + r.getErrorCode()));
        }
    }

    private void completeWhenStreamEnds(Exchange exchange, EvidenceRecord r, StreamingHttpResponse streaming) {
        assembler.fill(r, exchange);
        Integer status = exchange.getMessage().getHeader(Exchange.HTTP_RESPONSE_CODE, Integer.class);
        EvidenceRecord record = r.snapshot();
        String[] trace = attest.ops.CallLogContext.trace(exchange);
        attest.masking.MaskingOutcome masking = exchange.getProperty(Exchanges.MASKING,
                attest.masking.MaskingOutcome.class);
        attest.usage.UsageMeter usage = exchange.getProperty(Exchanges.USAGE, attest.usage.UsageMeter.class);
        // the stream's end line and its release on the caller's thread, not on the evidence writer's
        java.util.concurrent.Executor callerThread = CallerThread.of(exchange, Runnable::run);
        streaming.relay().ended().thenCompose(end -> {
            apply(record, end, status);
            if (usage != null) {
                record.setUsage(usage); // the stream's usage event has passed by now
            }
            // the report is read at the end: redactions were added while the stream ran
            EvidenceAssembler.masking(record, masking);
            return writer.submit(record, false, EvidenceEvents.terminate(record, end.outcome(),
                    end.endedAt(), topic, clock.instant()));
        }).whenCompleteAsync((ok, err) -> {
            try {
                if (err != null) {
                    attest.ops.CallLogContext.with(attest.ops.CallLogContext.values(record, trace), () -> LOG.warn(
                            "stream evidence for request {} could not be committed; the stream is cut",
                            record.getRequestId()));
                } else {
                    logEnd(record, trace);
                }
            } finally {
                streaming.relay().release(err == null); // whatever the end line throws, the stream ends
            }
        }, callerThread);
    }

    private static void apply(EvidenceRecord r, StreamEnd end, Integer status) {
        r.setStatus(status);
        r.setUpstreamStatus(status);
        r.setStreamed(true);
        r.setFirstByteAt(end.firstByteAt());
        r.setResponseBody(end.captured());
        r.setResponseSize(end.size());
        r.setResponseSha256(end.sha256());
        r.setResponseTruncated(end.truncated());
        r.setRawResponseSize(end.rawSize());
        r.setRawResponseSha256(end.rawSha256());
        r.setStreamTimings(end.timings());
        // the upstream's bytes are kept only where they differ from what was delivered (masking, or the usage chunk
        // the gateway asked for and removed): an unchanged stream is not stored twice
        r.setRawResponseBody(end.rawSha256() != null && end.rawSha256().equals(end.sha256()) ? null : end.rawCaptured());
    }
}
