package attest.evidence;

import attest.http.RefusedRequest;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * Records what the HTTP layer refused: each refusal, up to the per-source threshold of its window, as a terminal
 * evidence record of its own (metadata, declared size, digest when read; never a body), written in the evidence
 * writer's refusal lane; past the threshold, or when that lane is full, it is counted, and {@link #flush()}
 * writes one {@link RefusalSummary} per source and window. Nothing here blocks the caller (a Netty I/O thread).
 */
public final class RefusalRecorder implements Consumer<RefusedRequest>, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(RefusalRecorder.class);

    private final EvidenceAssembler assembler;
    private final EvidenceWriter writer;
    private final RefusalLimiter limiter;
    private final String instanceId;
    private final String topic;
    private final Clock clock;
    private final List<RefusalLimiter.Summary> unwritten = new ArrayList<>();
    private final AtomicLong recorded = new AtomicLong();
    private final AtomicLong counted = new AtomicLong();

    public RefusalRecorder(EvidenceAssembler assembler, EvidenceWriter writer, RefusalLimiter limiter,
                           String instanceId, String topic, Clock clock) {
        this.assembler = assembler;
        this.writer = writer;
        this.limiter = limiter;
        this.instanceId = instanceId;
        this.topic = topic;
        this.clock = clock;
    }

    @Override
    public void accept(RefusedRequest q) {
        Instant now = clock.instant();
        if (limiter.admit(q.source(), q.status(), now) == RefusalLimiter.Admission.COUNT) {
            counted.incrementAndGet();
            return;
        }
        EvidenceRecord record = assembler.refusal(q, now);
        writer.submitRefusal(record, event(record, now)).whenComplete((ok, err) -> {
            if (err == null) {
                recorded.incrementAndGet();
            } else {
                limiter.recordFailed(q.source(), q.status(), now);
                counted.incrementAndGet();
            }
        });
    }

    /**
     * A refusal's event: the evidence event's shape (schema attest.evidence 1, {@code call.<outcome>}) with only
     * what a refusal has: no identity (but the subject of a verified caller refused for too many denials), decision (its event type says it), response or nulls (the small body's digest,
     * when read, is in the record and the chain); it ended when received.
     */
    OutboxEvent event(EvidenceRecord r, Instant now) {
        OutboxEvent full = EvidenceEvents.terminal(r, topic, now);
        try {
            var json = JSON.readTree(full.getPayload());
            var rec = (com.fasterxml.jackson.databind.node.ObjectNode) json.path("record");
            rec.remove(List.of("identity", "response", "completed_at", "instance_id"));
            if (r.getSubject() != null) { // a verified caller refused at the door (too_many_denials): who it was
                rec.putObject("identity").put("subject", r.getSubject());
            }
            rec.remove("decision"); // a refusal's event type says it
            ((com.fasterxml.jackson.databind.node.ObjectNode) rec.path("request")).remove("sha256"); // in the chain
            return Compact.event(new OutboxEvent(full.getEventId(), full.getTopic(), full.getEventKey(), json.toString(),
                    full.getCreatedAt()));
        } catch (com.fasterxml.jackson.core.JsonProcessingException | ClassCastException e) {
            return Compact.event(full);
        }
    }

    private static final com.fasterxml.jackson.databind.ObjectMapper JSON = new com.fasterxml.jackson.databind.ObjectMapper();

    /** Writes the summaries of the windows that ended (and any that could not be written before). */
    public void flush() {
        write(limiter.drain(clock.instant()));
    }

    /** Refusals recorded one by one so far, and counted into summaries. */
    public long recorded() {
        return recorded.get();
    }

    public long counted() {
        return counted.get();
    }

    private void write(List<RefusalLimiter.Summary> fresh) {
        List<RefusalLimiter.Summary> todo;
        synchronized (unwritten) {
            unwritten.addAll(fresh);
            todo = List.copyOf(unwritten);
            unwritten.clear();
        }
        Instant now = clock.instant();
        for (RefusalLimiter.Summary s : todo) {
            RefusalSummary summary = RefusalSummary.of(instanceId, s, now);
            writer.submitSummary(summary, summary.event(topic, now)).whenComplete((ok, err) -> {
                if (err != null) {
                    synchronized (unwritten) {
                        unwritten.add(s);
                    }
                }
            });
        }
    }

    /** Writes every summary, current windows included, and waits a little for the commits. */
    @Override
    public void close() {
        write(limiter.drainAll());
        List<RefusalLimiter.Summary> left;
        synchronized (unwritten) {
            left = List.copyOf(unwritten);
        }
        if (!left.isEmpty()) {
            LOG.warn("{} refusal summaries could not be written at shutdown", left.size());
        }
    }
}
