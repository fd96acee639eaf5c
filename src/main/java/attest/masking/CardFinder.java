package attest.masking;

/**
 * Finds payment-card candidates without a regular expression, in one pass: a chain is a run of digit groups
 * joined by single separators (space, dash or dot, after normalisation); every run of whole groups holding
 * 13 to 19 digits is a candidate. From each group, left to right, the longest accepted candidate wins, so a
 * card written next to another number (before or after it) is still found, and a digit run is never split.
 */
final class CardFinder implements Detector.Finder {
    static final int MIN = 13;
    static final int MAX = 19;

    private static boolean digit(char c) {
        return c >= '0' && c <= '9';
    }

    private static boolean separator(char c) {
        return c == ' ' || c == '-' || c == '.';
    }

    @Override
    public long next(String text, int from, int to, Detector.SpanCheck accepted) {
        int i = from;
        while (i < to) {
            if (!digit(text.charAt(i))) {
                i++;
                continue;
            }
            // i starts a group (or is inside a longer word: boundaries are checked by 'accepted')
            int s = i;
            int digits = 0;
            int j = i;
            int bestEnd = -1;
            // extend group by group while 13..19 digits are still reachable
            while (j < to) {
                int g = j;
                while (j < to && digit(text.charAt(j))) {
                    j++;
                }
                digits += j - g;
                if (digits > MAX) {
                    break;
                }
                if (digits >= MIN && notUnderscore(text, s, j) && wholeJoinedRun(text, s, j)
                        && accepted.test(text, s, j)) {
                    bestEnd = j;
                }
                if (j + 1 < to && separator(text.charAt(j)) && digit(text.charAt(j + 1))) {
                    j++;
                } else {
                    break;
                }
            }
            if (bestEnd >= 0) {
                return ((long) s << 32) | bestEnd;
            }
            // the next candidate starts at the next group of this chain (or after this digit run)
            while (i < to && digit(text.charAt(i))) {
                i++;
            }
        }
        return -1;
    }

    /**
     * Groups joined by dashes or dots belong together (UUIDs, ISBNs, dates, dotted versions): a candidate may
     * not be cut out of such a run. Spaces join unrelated numbers too, so a card may stand next to one.
     */
    private static boolean wholeJoinedRun(String t, int s, int e) {
        if (s >= 2 && (t.charAt(s - 1) == '-' || t.charAt(s - 1) == '.') && digit(t.charAt(s - 2))) {
            return false;
        }
        return !(e + 1 < t.length() && (t.charAt(e) == '-' || t.charAt(e) == '.') && digit(t.charAt(e + 1)));
    }

    /** An underscore joins words: id_4111111111111111 is an identifier, not a card. */
    private static boolean notUnderscore(String t, int s, int e) {
        return !(s > 0 && t.charAt(s - 1) == '_') && !(e < t.length() && t.charAt(e) == '_');
    }
}
