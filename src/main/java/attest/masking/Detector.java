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
 * @param contextWords words that add {@link #CONTEXT_BOOST} when found in the context of a match: at most
 *                     {@link #CONTEXT_WINDOW} chars before it, and not beyond another number, an e-mail
 *                     address or the end of a sentence (see {@link #contextStart})
 * @param threshold    matches scoring below it are ignored
 * @param trigger      the pre-filter that finds where the pattern is worth running
 * @param minCount     the least number of the trigger's counted characters (digits, colons) a window needs
 * @param minPlus      the least number of '+' signs a window needs (E.164 phones)
 * @param minDots      the least number of dots a window needs (IPv4)
 * @param minRun       the least length of the window's longest run of consecutive digits (bare numbers)
 * @param maxRun       the most it may be (numbers written in groups)
 * @param around       must accept the match in its surroundings (e.g. an IPv4 address is not part of a
 *                     longer dotted run)
 * @param regroup      when a match fails validation, whether the runs of letters and digits inside it are
 *                     tried as shorter candidates (an IBAN followed by a BIC: the pattern is greedy, the
 *                     entity is shorter)
 * @param finder       if not null, finds the accepted spans instead of the pattern (hand-written, linear)
 */
public record Detector(String name, String entityType, Pattern pattern, Predicate<String> validator, double baseScore,
                       List<String> contextWords, double threshold, Trigger trigger, int minCount, int minPlus,
                       int minDots, int minRun, int maxRun, SpanCheck around, boolean regroup,
                       Finder finder) {
    public static final double CONTEXT_BOOST = 0.35;
    public static final int CONTEXT_WINDOW = 48;
    /** Groups beyond this many are not regrouped (bounds the work on a long run of short groups). */
    static final int MAX_GROUPS = 12;

    /** A check of a match against the text around it (normalised text, match start, match end). */
    @FunctionalInterface
    public interface SpanCheck {
        SpanCheck ANY = (text, s, e) -> true;

        boolean test(String text, int start, int end);
    }

    /** Finds spans itself, in linear time: the next accepted span in [from, to) of the normalised text. */
    @FunctionalInterface
    public interface Finder {
        /** The next span starting at or after {@code from} and ending at or before {@code to} that
         * {@code accepted} accepts, as (start << 32 | end), or -1. */
        long next(String text, int from, int to, SpanCheck accepted);
    }

    /** A detector with no surrounding check and no regrouping (custom detectors from rule files). */
    public Detector(String name, String entityType, Pattern pattern, Predicate<String> validator, double baseScore,
                    List<String> contextWords, double threshold, Trigger trigger, int minCount, int minPlus,
                    int minDots, int minRun, int maxRun) {
        this(name, entityType, pattern, validator, baseScore, contextWords, threshold, trigger, minCount, minPlus,
                minDots, minRun, maxRun, SpanCheck.ANY, false, null);
    }

    /** Adds this detector's findings (in normalised offsets) to {@code out}. */
    void scan(String text, String lowerText, List<int[]> windows, List<Finding> out) {
        for (int[] w : windows) {
            if (w[2] >= minCount && w[3] >= minPlus && w[4] >= minDots && w[5] >= minRun && w[5] <= maxRun) {
                scanWindow(text, lowerText, w[0], w[1], out);
            }
        }
    }

    private void scanWindow(String text, String lowerText, int ws, int we, List<Finding> out) {
        if (finder != null) {
            int from = ws;
            long span;
            while (from < we && (span = finder.next(text, from, we, this::accepts)) >= 0) {
                int s = (int) (span >>> 32);
                int e = (int) span;
                from = e;
                add(lowerText, s, e, out);
            }
            return;
        }
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
            if (!accepts(text, s, e)) {
                if (!regroup) {
                    continue;
                }
                long sub = regrouped(text, s, e);
                if (sub < 0) {
                    // the entity may start inside this match and end after it: go on from its second group
                    from = secondGroup(text, s, e) - ws;
                    continue;
                }
                s = (int) (sub >>> 32);
                e = (int) sub;
                from = e - ws;
            }
            add(lowerText, s, e, out);
        }
    }

    private void add(String lowerText, int s, int e, List<Finding> out) {
        double score = baseScore;
        if (!contextWords.isEmpty()) {
            int from = contextStart(lowerText, s);
            boolean context;
            String column = score < threshold ? ColumnContext.header(lowerText, s) : null;
            if (column == null) {
                context = mentions(lowerText.substring(from, s));
            } else {
                // in a table, CSV or SQL the label heads the value's column; the text before the value counts only
                // from the start of its own cell (another column's name or value is not its context)
                int cell = s - 1;
                while (cell >= from && "|,(".indexOf(lowerText.charAt(cell)) < 0) {
                    cell--;
                }
                context = mentions(column) || mentions(lowerText.substring(cell + 1, s));
            }
            if (context) {
                score = Math.min(1.0, score + CONTEXT_BOOST);
            }
        }
        if (score >= threshold) {
            out.add(new Finding(entityType, s, e, score, name));
        }
    }

    private boolean mentions(String text) {
        for (String w : contextWords) {
            if (text.contains(w)) {
                return true;
            }
        }
        return false;
    }

    private boolean accepts(String text, int s, int e) {
        return boundaryOk(text, s, e) && around.test(text, s, e) && validator.test(text.substring(s, e));
    }

    /**
     * The longest run of whole groups (letters and digits between separators) inside [s, e) that is accepted,
     * leftmost among equals, as (start << 32 | end); or -1.
     */
    private long regrouped(String text, int s, int e) {
        int[] starts = new int[MAX_GROUPS];
        int[] ends = new int[MAX_GROUPS];
        int n = 0;
        int i = s;
        while (i < e) {
            if (!Character.isLetterOrDigit(text.charAt(i))) {
                i++;
                continue;
            }
            if (n == MAX_GROUPS) {
                return -1;
            }
            starts[n] = i;
            while (i < e && Character.isLetterOrDigit(text.charAt(i))) {
                i++;
            }
            ends[n++] = i;
        }
        for (int len = n - 1; len >= 1; len--) {
            for (int a = 0; a + len <= n; a++) {
                int gs = starts[a];
                int ge = ends[a + len - 1];
                if (accepts(text, gs, ge)) {
                    return ((long) gs << 32) | ge;
                }
            }
        }
        return -1;
    }

    /** The start of the second run of letters and digits in [s, e), or e if there is none. */
    private static int secondGroup(String text, int s, int e) {
        int i = s;
        while (i < e && Character.isLetterOrDigit(text.charAt(i))) {
            i++;
        }
        while (i < e && !Character.isLetterOrDigit(text.charAt(i))) {
            i++;
        }
        return i;
    }

    /**
     * Where the context of a match starting at {@code s} begins: at most {@link #CONTEXT_WINDOW} chars back,
     * and never before the end of another number (a digit), an e-mail address ('@'), a line, or a sentence
     * ('.', '!', '?' or ';' followed by a space, except after one of the {@link #ABBREVIATIONS}). So a
     * context word belongs to the candidate it precedes and is not carried onto the next one.
     */
    static int contextStart(String lower, int s) {
        int limit = Math.max(0, s - CONTEXT_WINDOW);
        for (int j = s - 1; j >= limit; j--) {
            char c = lower.charAt(j);
            if ((c >= '0' && c <= '9') || c == '@' || c == '\n' || c == '\r') {
                return j + 1;
            }
            if ((c == '.' || c == '!' || c == '?' || c == ';') && j + 1 < s && lower.charAt(j + 1) == ' '
                    && !(c == '.' && abbreviation(lower, j))) {
                return j + 1;
            }
        }
        return limit;
    }

    /** Abbreviations whose dot does not end a sentence: "no. 123", "tel. 030 1234567", "тел. 8 (916) ...". */
    static final java.util.Set<String> ABBREVIATIONS = java.util.Set.of("no", "nr", "num", "sec", "soc", "tel", "tél",
            "тел", "mob", "моб", "ph", "tlf", "telef");

    private static boolean abbreviation(String lower, int dot) {
        int k = dot;
        while (k > 0 && Character.isLetter(lower.charAt(k - 1))) {
            k--;
        }
        String word = lower.substring(k, dot);
        return ABBREVIATIONS.contains(word);
    }

    /**
     * A match must not be cut out of a longer run of letters or digits. Chinese, Japanese and Korean text has no
     * spaces between words, so where an ideograph, kana or hangul meets a Latin letter or a digit the run ends:
     * {@code 番号は4111111111111111。} holds a card, as {@code number 4111111111111111.} does.
     */
    private static boolean boundaryOk(String text, int s, int e) {
        if (s > 0 && glued(text.charAt(s - 1), text.charAt(s))) {
            return false;
        }
        return !(e < text.length() && glued(text.charAt(e - 1), text.charAt(e)));
    }

    /** Whether two adjacent characters belong to one word: both letters or digits, of the same writing kind. */
    static boolean glued(char a, char b) {
        return Character.isLetterOrDigit(a) && Character.isLetterOrDigit(b) && cjk(a) == cjk(b);
    }

    /** Ideographs, kana (with the prolonged sound mark) and hangul: scripts written without spaces between words. */
    static boolean cjk(char c) {
        if (c == '\u30FC' || c == '\uFF70') {
            return true;
        }
        Character.UnicodeScript script = Character.UnicodeScript.of(c);
        return script == Character.UnicodeScript.HAN || script == Character.UnicodeScript.HIRAGANA
                || script == Character.UnicodeScript.KATAKANA || script == Character.UnicodeScript.HANGUL;
    }

    static List<String> lower(List<String> words) {
        return words.stream().map(w -> w.toLowerCase(Locale.ROOT)).toList();
    }
}
