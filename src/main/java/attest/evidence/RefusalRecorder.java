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
        writer.submitRefusal(record, EvidenceEvents.refusal(record, topic, now)).whenComplete((ok, err) -> {
            if (err == null) {
                recorded.incrementAndGet();
            } else {
                limiter.recordFailed(q.source(), q.status(), now);
                counted.incrementAndGet();
            }
        });
    }

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
