package attest.masking;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Detects regulated data in text. Detection runs on the normalised text (see {@link Normalized});
 * findings are returned in original offsets. Where findings overlap, the higher score wins, then the
 * longer span. Usable on its own, without the gateway.
 */
public final class MaskingEngine {
    private final List<Detector> detectors;

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
        Normalized n = Normalized.of(original);
        String text = n.text();
        String lower = lowerSameLength(text);
        List<Finding> candidates = new ArrayList<>();
        java.util.EnumMap<Trigger, List<int[]>> windows = new java.util.EnumMap<>(Trigger.class);
        for (Detector d : detectors) {
            d.scan(text, lower, windows.computeIfAbsent(d.trigger(), t -> t.windows(text)), candidates);
        }
        candidates.sort(Comparator.comparingDouble(Finding::score).reversed()
                .thenComparing(Comparator.comparingInt((Finding f) -> f.end() - f.start()).reversed())
                .thenComparingInt(Finding::start));
        List<Finding> kept = new ArrayList<>();
        for (Finding f : candidates) {
            if (kept.stream().noneMatch(f::overlaps)) {
                kept.add(f);
            }
        }
        List<Finding> out = new ArrayList<>(kept.size());
        for (Finding f : kept) {
            out.add(new Finding(f.entityType(), n.originalStart(f.start()), n.originalEnd(f.end()), f.score(),
                    f.detector()));
        }
        out.sort(Comparator.comparingInt(Finding::start));
        return out;
    }
}
