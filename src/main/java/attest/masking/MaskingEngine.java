package attest.masking;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Detects regulated data in text. Detection runs on the normalised text (see {@link Normalized});
 * findings are returned in original offsets. Where findings overlap, the higher score wins, then the
 * longer span. Each single line break is also read as a space and as nothing, one at a time ({@link SoftBreaks}); what a
 * terminal string holds (an OSC 8 hyperlink's target) is scanned on its own. Usable on its own, without the gateway.
 */
public final class MaskingEngine {
    /** The longest text whose clean scan is remembered. */
    static final int CLEAN_MAX = 96;
    private static final Comparator<Finding> PRECEDENCE = Comparator.comparingDouble(Finding::score).reversed()
            .thenComparing(Comparator.comparingInt((Finding f) -> f.end() - f.start()).reversed())
            .thenComparingInt(Finding::start);

    private static final int TRIGGERS = Trigger.values().length;

    private final List<Detector> detectors;
    /**
     * Short texts that scanned clean, one per slot by hash: the same text scans the same (the detectors do not
     * change), and a stream repeats its id, model and object name in every event, every stream the same field
     * names and values. Only a text equal to one that had no finding is skipped; a text with a finding is never
     * remembered, and texts that collide only cost a scan.
     */
    private final String[] clean = new String[1024];

    public MaskingEngine(List<Detector> detectors) {
        this.detectors = List.copyOf(detectors);
    }

    public static MaskingEngine builtIn() {
        return new MaskingEngine(BuiltInDetectors.all());
    }

    public List<Detector> detectors() {
        return detectors;
    }

    /** Lower case, one char for one char, so that offsets in the text are offsets in its lower case. */
    static String lowerSameLength(String text) {
        char[] c = text.toCharArray();
        for (int i = 0; i < c.length; i++) {
            char x = c[i];
            if (x >= 'A' && x <= 'Z') {
                c[i] = (char) (x + 32);
            } else if (x >= 0x80) {
                c[i] = Character.toLowerCase(x);
            }
        }
        return new String(c);
    }

    /** Findings in the original text, ordered by position, not overlapping. */
    public List<Finding> scan(String original) {
        int slot = -1;
        if (original.length() <= CLEAN_MAX) {
            int h = original.hashCode();
            slot = (h ^ (h >>> 16)) & (clean.length - 1);
            String known = clean[slot];
            if (known != null && known.equals(original)) {
                return new ArrayList<>(0);
            }
        }
        List<Finding> found = scanned(original);
        if (found.isEmpty() && slot >= 0) {
            clean[slot] = original;
        }
        return found;
    }

    /**
     * The findings of {@link #scan} that end after {@code from} (an original offset): what new text adds to text
     * scanned before, which it follows as context (a stream's released text). The same findings as {@code scan}'s,
     * found with less work: the pre-filter's windows that end before {@code from} are not searched. Where a finding
     * in the rest starts before {@code from} (it could compete with one in a window left out), the whole text is
     * scanned instead.
     */
    public List<Finding> scanFrom(String original, int from) {
        if (from <= 0) {
            return scan(original);
        }
        Normalized n = Normalized.of(original);
        // the normalised characters before this one all end at or before from
        int nFrom = 0;
        int len = n.text().length();
        while (nFrom < len && n.originalEnd(nFrom + 1) <= from) {
            nFrom++;
        }
        List<Finding> found = scanned(n, nFrom);
        if (found == null) {
            found = scanned(n, 0);
            found.removeIf(f -> f.end() <= from);
        }
        return found;
    }

    /** {@link #scan} without the memory of clean texts (for tests). */
    List<Finding> scanned(String original) {
        return scanned(Normalized.of(original), 0);
    }

    /**
     * The findings in the normalised text, searching only windows that end after {@code from} (normalised); null
     * when one of them starts before it.
     */
    private List<Finding> scanned(Normalized n, int from) {
        String text = n.text();
        List<Finding> candidates = candidates(text, from);
        if (text.indexOf('\n') >= 0 || text.indexOf('\r') >= 0 || text.indexOf('\u0085') >= 0
                || text.indexOf('\u2028') >= 0) {
            // each single line break also read as a space and as nothing, one at a time (see SoftBreaks)
            candidates.addAll(SoftBreaks.across(text, from, t -> candidates(t, 0), candidates));
        }
        if (candidates.isEmpty()) {
            return n.hidden().isEmpty() ? new ArrayList<>(0) : hidden(n, new ArrayList<>(0));
        }
        if (from > 0) {
            for (Finding f : candidates) {
                if (f.start() < from) {
                    return null;
                }
            }
        }
        candidates.sort(PRECEDENCE);
        List<Finding> kept = new ArrayList<>();
        for (Finding f : candidates) {
            if (kept.stream().noneMatch(f::overlaps)) {
                kept.add(f);
            }
        }
        List<Finding> out = new ArrayList<>(kept.size());
        for (Finding f : kept) {
            out.add(new Finding(f.entityType(), n.originalStart(f.start()), n.originalEnd(f.end()), f.score(),
                    f.detector(), f.acrossBreak()));
        }
        return hidden(n, out);
    }

    /**
     * Adds the findings in what the text's terminal strings hold (an OSC 8 hyperlink's target: removed for detection, as
     * a terminal does not show it, but not hidden from it) to {@code out}, where they do not overlap one found in the
     * text (which holds the string whole, and is masked with it); sorted by position.
     */
    private List<Finding> hidden(Normalized n, List<Finding> out) {
        List<int[]> hidden = n.hidden();
        if (!hidden.isEmpty()) {
            // one scan of them all, a blank line between each two (not read across): linear however many there are
            StringBuilder joined = new StringBuilder();
            int[] at = new int[hidden.size()];
            for (int k = 0; k < hidden.size(); k++) {
                if (k > 0) {
                    joined.append("\n\n");
                }
                at[k] = joined.length();
                joined.append(n.original(), hidden.get(k)[0], hidden.get(k)[1]);
            }
            for (Finding f : scanned(Normalized.of(joined.toString()), 0)) {
                int k = java.util.Arrays.binarySearch(at, f.start());
                k = k >= 0 ? k : -k - 2;
                int[] h = hidden.get(k);
                if (f.end() - at[k] > h[1] - h[0]) {
                    continue; // across two of them: neither holds it
                }
                Finding g = new Finding(f.entityType(), h[0] + f.start() - at[k], h[0] + f.end() - at[k], f.score(),
                        f.detector(), f.acrossBreak());
                if (out.stream().noneMatch(g::overlaps)) {
                    out.add(g);
                }
            }
        }
        out.sort(Comparator.comparingInt(Finding::start));
        return out;
    }

    /** Every detector's candidates in the (normalised) text, searching only windows that end after {@code from}. */
    private List<Finding> candidates(String text, int from) {
        String lower = lowerSameLength(text);
        List<Finding> candidates = new ArrayList<>();
        @SuppressWarnings("unchecked")
        List<int[]>[] windows = new List[TRIGGERS]; // by the trigger's ordinal: each pre-filter runs once
        for (Detector d : detectors) {
            int k = d.trigger().ordinal();
            if (windows[k] == null) {
                windows[k] = after(d.trigger().windows(text), from);
            }
            d.scan(text, lower, windows[k], candidates);
        }
        return candidates;
    }

    /** The windows that end after {@code from}. */
    private static List<int[]> after(List<int[]> windows, int from) {
        if (from == 0) {
            return windows;
        }
        List<int[]> out = new ArrayList<>(windows.size());
        for (int[] w : windows) {
            if (w[1] > from) {
                out.add(w);
            }
        }
        return out;
    }
}
