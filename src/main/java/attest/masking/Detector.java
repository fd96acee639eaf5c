package attest.masking;

import com.google.re2j.Matcher;
import com.google.re2j.Pattern;

import java.util.List;
import java.util.Locale;
import java.util.function.Predicate;

/**
 * Finds one entity type: a linear-time (RE2/J) pattern, an optional validator, optional context words
 * that raise the score when they appear shortly before a match, and a threshold.
 *
 * @param name         the detector's name (several detectors may find the same entity type)
 * @param entityType   CARD, SSN, IBAN, EMAIL, PHONE, IP_ADDRESS, SECRET, or a custom type
 * @param pattern      matched against the normalised text
 * @param validator    must accept the matched text
 * @param baseScore    the score of a validated match
 * @param contextWords words that add {@link #CONTEXT_BOOST} when found within {@link #CONTEXT_WINDOW} chars before
 * @param threshold    matches scoring below it are ignored
 * @param trigger      the pre-filter that finds where the pattern is worth running
 * @param minCount     the least number of the trigger's counted characters (digits, colons) a window needs
 * @param minPlus      the least number of '+' signs a window needs (E.164 phones)
 * @param minDots      the least number of dots a window needs (IPv4)
 * @param minRun       the least length of the window's longest run of consecutive digits (bare numbers)
 * @param maxRun       the most it may be (numbers written in groups)
 */
public record Detector(String name, String entityType, Pattern pattern, Predicate<String> validator, double baseScore,
                       List<String> contextWords, double threshold, Trigger trigger, int minCount, int minPlus,
                       int minDots, int minRun, int maxRun) {
    public static final double CONTEXT_BOOST = 0.35;
    public static final int CONTEXT_WINDOW = 48;

    /** Adds this detector's findings (in normalised offsets) to {@code out}. */
    void scan(String text, String lowerText, List<int[]> windows, List<Finding> out) {
        for (int[] w : windows) {
            if (w[2] >= minCount && w[3] >= minPlus && w[4] >= minDots && w[5] >= minRun && w[5] <= maxRun) {
                scanWindow(text, lowerText, w[0], w[1], out);
            }
        }
    }

    private void scanWindow(String text, String lowerText, int ws, int we, List<Finding> out) {
        String window = ws == 0 && we == text.length() ? text : text.substring(ws, we);
        Matcher m = pattern.matcher(window);
        int from = 0;
        while (from <= window.length() && m.find(from)) {
            int s = ws + m.start();
            int e = ws + m.end();
            if (e == s) {
                from = e - ws + 1;
                continue;
            }
            from = e - ws;
            if (!boundaryOk(text, s, e)) {
                continue;
            }
            String hit = text.substring(s, e);
            if (!validator.test(hit)) {
                continue;
            }
            double score = baseScore;
            if (!contextWords.isEmpty()) {
                String before = lowerText.substring(Math.max(0, s - CONTEXT_WINDOW), s);
                for (String w : contextWords) {
                    if (before.contains(w)) {
                        score = Math.min(1.0, score + CONTEXT_BOOST);
                        break;
                    }
                }
            }
            if (score >= threshold) {
                out.add(new Finding(entityType, s, e, score, name));
            }
        }
    }

    /** A match must not be cut out of a longer run of letters or digits. */
    private static boolean boundaryOk(String text, int s, int e) {
        if (s > 0 && Character.isLetterOrDigit(text.charAt(s - 1)) && Character.isLetterOrDigit(text.charAt(s))) {
            return false;
        }
        return !(e < text.length() && Character.isLetterOrDigit(text.charAt(e))
                && Character.isLetterOrDigit(text.charAt(e - 1)));
    }

    static List<String> lower(List<String> words) {
        return words.stream().map(w -> w.toLowerCase(Locale.ROOT)).toList();
    }
}
