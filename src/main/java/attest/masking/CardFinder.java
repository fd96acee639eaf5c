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
                        && !longFourGroupRun(text, s, j) && !BuiltInDetectors.afterIbanHead(text, s)
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

    /**
     * Whether [s, e) is part of a longer run of space-joined groups of four digits that ends in a shorter group,
     * with at least {@link #LONG_RUN} groups, such as a 22-digit USPS tracking number
     * {@code 9400 1000 0000 0000 0000 00}: that is one number, and no card is cut out of it. Two cards written
     * next to each other (all groups of four) and a card followed by an expiry year (fewer groups) are not.
     */
    static boolean longFourGroupRun(String t, int s, int e) {
        int start = s;
        int groups = 0;
        // walk left over " dddd" groups (bounded)
        while (groups < LONG_RUN && start >= 5 && t.charAt(start - 1) == ' ' && fourDigits(t, start - 5)
                && (start - 5 == 0 || !digit(t.charAt(start - 6)))) {
            start -= 5;
            groups++;
        }
        int end = e;
        boolean lastShort = false;
        while (groups < 2 * LONG_RUN && !lastShort && end + 1 < t.length() && t.charAt(end) == ' '
                && digit(t.charAt(end + 1))) {
            int g = end + 1;
            while (g < t.length() && g - end - 1 < 5 && digit(t.charAt(g))) {
                g++;
            }
            int len = g - end - 1;
            if (len > 4 || (g < t.length() && digit(t.charAt(g)))) {
                break;
            }
            lastShort = len < 4;
            end = g;
            groups++;
        }
        if (start == s && end == e) {
            return false;
        }
        // the candidate itself must be groups of four (the last may be shorter)
        int inner = 0;
        int i = start;
        while (i < end) {
            int g = i;
            while (g < end && digit(t.charAt(g))) {
                g++;
            }
            int len = g - i;
            inner++;
            if (len > 4 || (len < 4 && g < end) || (g < end && t.charAt(g) != ' ')) {
                return false;
            }
            i = g + 1;
        }
        return inner >= LONG_RUN && lastShort;
    }

    static final int LONG_RUN = 6;

    private static boolean fourDigits(String t, int at) {
        return digit(t.charAt(at)) && digit(t.charAt(at + 1)) && digit(t.charAt(at + 2)) && digit(t.charAt(at + 3));
    }
}
