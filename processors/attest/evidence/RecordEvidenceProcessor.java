package attest.evidence;

import attest.Exchanges;
import attest.http.GatewayException;
import attest.http.Outcomes;
import attest.upstream.StreamEnd;
import attest.upstream.StreamingHttpResponse;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;

/**
 * Completes the call's record and commits it, with its Kafka event in the same transaction, before the
 * response is released. For a stream the record was committed open before forwarding; this registers the
 * completion for the stream's end, and the stream's terminating chunk waits for that commit.
 * Throws {@link EvidenceUnavailableException} when the commit fails; the route then answers 503.
 */
public class RecordEvidenceProcessor implements Processor {
    private static final Logger LOG = LoggerFactory.getLogger(RecordEvidenceProcessor.class);

    private final EvidenceAssembler assembler;
    private final EvidenceWriter writer;
    private final String topic;
    private final Clock clock;

    public RecordEvidenceProcessor(EvidenceAssembler assembler, EvidenceWriter writer, String topic, Clock clock) {
        this.assembler = assembler;
        this.writer = writer;
        this.topic = topic;
        this.clock = clock;
    }

    @Override
    public void process(Exchange exchange) {
        EvidenceRecord r = exchange.getProperty(Exchanges.EVIDENCE, EvidenceRecord.class);
        if (r == null) {
            throw new EvidenceUnavailableException("no evidence record on the exchange");
        }
        GatewayException error = exchange.getProperty(Exchanges.ERROR, GatewayException.class);
        if (error == null && r.getApprovalId() != null && exchange.getProperty(Exchanges.BUFFER_RESPONSE) == null) {
            // a held call: its record belongs to the approval, which completes it when the call is executed,
            // denied, expired or cancelled (the caller's own answer here is a wait, not the call's end)
            return;
        }
        if (error != null && Outcomes.EVIDENCE_UNAVAILABLE.equals(error.outcome())) {
            // the store just refused this call's evidence: do not make the caller wait for a second failure
            throw new EvidenceUnavailableException("evidence store unavailable");
        }
        boolean written = exchange.getProperty(Exchanges.EVIDENCE_WRITTEN, false, Boolean.class);
        Object body = exchange.getMessage().getBody();
        if (body instanceof StreamingHttpResponse streaming) {
            completeWhenStreamEnds(exchange, r, streaming);
            return;
        }
        byte[] delivered = exchange.getMessage().getBody(byte[].class);
        assembler.finish(r, exchange, delivered, clock.instant());
        OutboxEvent event = EvidenceEvents.terminal(r, topic, clock.instant());
        if (written) {
            writer.update(r, event);
        } else {
            writer.insert(r, event);
            exchange.setProperty(Exchanges.EVIDENCE_WRITTEN, true);
        }
    }

    private void completeWhenStreamEnds(Exchange exchange, EvidenceRecord r, StreamingHttpResponse streaming) {
        assembler.fill(r, exchange);
        Integer status = exchange.getMessage().getHeader(Exchange.HTTP_RESPONSE_CODE, Integer.class);
        EvidenceRecord record = r.snapshot();
        attest.masking.MaskingOutcome masking = exchange.getProperty(Exchanges.MASKING,
                attest.masking.MaskingOutcome.class);
        attest.usage.UsageMeter usage = exchange.getProperty(Exchanges.USAGE, attest.usage.UsageMeter.class);
        streaming.relay().ended().thenCompose(end -> {
            apply(record, end, status);
            if (usage != null) {
                record.setUsage(usage); // the stream's usage event has passed by now
            }
            // the report is read at the end: redactions were added while the stream ran
            EvidenceAssembler.masking(record, masking);
            return writer.submit(record, false, EvidenceEvents.terminal(record, topic, clock.instant()));
        }).whenComplete((ok, err) -> {
            if (err != null) {
                LOG.warn("stream evidence for request {} could not be committed; the stream is cut",
                        record.getRequestId());
            }
            streaming.relay().release(err == null);
        });
    }

    private static void apply(EvidenceRecord r, StreamEnd end, Integer status) {
        r.setOutcome(end.outcome());
        r.setStatus(status);
        r.setUpstreamStatus(status);
        r.setStreamed(true);
        r.setFirstByteAt(end.firstByteAt());
        r.setCompletedAt(end.endedAt());
        r.setDurationMs(Duration.between(r.getReceivedAt(), end.endedAt()).toMillis());
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
        r.setState(EvidenceRecord.TERMINAL);
    }
}
