package attest.evidence;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * Refusals per source address and fixed window: the first {@code perWindow} of a source in a window are recorded
 * one by one; the rest are counted, by status, and each source's window with counted refusals ends in one
 * summary, so that the evidence still proves how many there were without one row per refusal.
 * <p>
 * Memory is bounded: at most {@code maxSources} sources are tracked at once; refusals from further sources
 * share the bucket {@value #OVERFLOW}. Storage is bounded too: across all sources at most
 * {@code maxRecordedPerWindow} refusals per window are recorded one by one (many sources, each under its own
 * threshold, are a flood as well). Thread-safe.
 */
public final class RefusalLimiter {
    /** The shared bucket of sources past {@code maxSources}. */
    public static final String OVERFLOW = "*";
    /** The bucket of refusals whose source address is unknown. */
    public static final String UNKNOWN = "unknown";

    /** Whether a refusal is recorded on its own or only counted. */
    public enum Admission { RECORD, COUNT }

    /**
     * One source's window: how many refusals were recorded singly, and how many were only counted, by status.
     */
    public record Summary(String source, Instant windowStart, Instant windowEnd, long recorded,
                          SortedMap<Integer, Long> counted) {
        public long countedTotal() {
            return counted.values().stream().mapToLong(Long::longValue).sum();
        }
    }

    private static final class Window {
        final long start;
        long recorded;
        final TreeMap<Integer, Long> counted = new TreeMap<>();

        Window(long start) {
            this.start = start;
        }
    }

    private final int perWindow;
    private final long windowMillis;
    private final int maxSources;
    private final long maxRecordedPerWindow;
    private long globalWindow = Long.MIN_VALUE;
    private long globalRecorded;
    private final Map<String, Window> windows = new HashMap<>();
    private final List<Summary> ended = new ArrayList<>();

    public RefusalLimiter(int perWindow, Duration window, int maxSources) {
        this(perWindow, window, maxSources, Long.MAX_VALUE);
    }

    public RefusalLimiter(int perWindow, Duration window, int maxSources, long maxRecordedPerWindow) {
        this.maxRecordedPerWindow = maxRecordedPerWindow;
        if (perWindow < 0 || window.toMillis() <= 0 || maxSources < 1 || maxRecordedPerWindow < 0) {
            throw new IllegalArgumentException("refusal limiter: perWindow >= 0, window > 0, maxSources >= 1");
        }
        this.perWindow = perWindow;
        this.windowMillis = window.toMillis();
        this.maxSources = maxSources;
    }

    /** A refusal from {@code source} at {@code now}: to be recorded on its own, or counted. */
    public synchronized Admission admit(String source, int status, Instant now) {
        Window w = window(source, now);
        long start = windowStart(now.toEpochMilli());
        if (start != globalWindow) {
            globalWindow = start;
            globalRecorded = 0;
        }
        if (w.recorded < perWindow && globalRecorded < maxRecordedPerWindow) {
            w.recorded++;
            globalRecorded++;
            return Admission.RECORD;
        }
        w.counted.merge(status, 1L, Long::sum);
        return Admission.COUNT;
    }

    /**
     * A refusal that was admitted for a record of its own but could not be written (the writer's refusal lane
     * was full): it is counted instead, so it is not lost.
     */
    public synchronized void recordFailed(String source, int status, Instant now) {
        Window w = window(source, now);
        if (w.recorded > 0) {
            w.recorded--;
        }
        w.counted.merge(status, 1L, Long::sum);
    }

    /** The summaries of every window that ended by {@code now} with counted refusals; forgets those windows. */
    public synchronized List<Summary> drain(Instant now) {
        long current = windowStart(now.toEpochMilli());
        for (Iterator<Map.Entry<String, Window>> it = windows.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<String, Window> e = it.next();
            if (e.getValue().start < current) {
                close(e.getKey(), e.getValue());
                it.remove();
            }
        }
        return takeEnded();
    }

    /** Every summary, ended windows and current ones alike (at shutdown). */
    public synchronized List<Summary> drainAll() {
        windows.forEach(this::close);
        windows.clear();
        return takeEnded();
    }

    /** How many sources are tracked now. */
    public synchronized int trackedSources() {
        return windows.size();
    }

    private Window window(String source, Instant now) {
        String key = source == null || source.isBlank() ? UNKNOWN : source;
        long start = windowStart(now.toEpochMilli());
        Window w = windows.get(key);
        if (w == null && windows.size() >= maxSources) {
            key = OVERFLOW;
            w = windows.get(key);
        }
        if (w != null && w.start != start) {
            close(key, w);
            w = null;
        }
        if (w == null) {
            w = new Window(start);
            windows.put(key, w);
        }
        return w;
    }

    private void close(String source, Window w) {
        if (!w.counted.isEmpty()) {
            ended.add(new Summary(source, Instant.ofEpochMilli(w.start), Instant.ofEpochMilli(w.start + windowMillis),
                    w.recorded, Collections.unmodifiableSortedMap(new TreeMap<>(w.counted))));
        }
    }

    private List<Summary> takeEnded() {
        List<Summary> out = List.copyOf(ended);
        ended.clear();
        return out;
    }

    private long windowStart(long epochMilli) {
        return Math.floorDiv(epochMilli, windowMillis) * windowMillis;
    }
}
