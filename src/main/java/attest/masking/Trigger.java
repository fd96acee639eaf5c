package attest.masking;

import java.util.ArrayList;
import java.util.List;

/**
 * A cheap pre-filter that finds the windows of text where a detector's pattern could match, so that the
 * regular expression runs only there. Each kind is one linear pass over the text; windows are extended
 * to whole runs of the characters the entity is made of, so a match is never cut by a window's edge.
 */
public enum Trigger {
    /** No pre-filter: the pattern runs over the whole text (custom detectors). */
    ALL,
    /** Runs of digits and number punctuation with at least four digits (cards, SSNs, phones, IPv4). */
    NUMERIC,
    /** Runs of upper-case letters, digits and spaces (IBANs). */
    UPPER_ALNUM,
    /** Around each '@' (emails). */
    AT_SIGN,
    /** Runs of hex digits, colons and dots with at least two colons (IPv6). */
    HEX_COLON,
    /** From each known secret prefix to the end of the token (API keys, JWTs, private-key blocks). */
    SECRET_PREFIX;

    private static final String[] PREFIXES = {"eyJ", "AKIA", "ASIA", "AGPA", "AIDA", "AROA", "ANPA", "ANVA", "sk-",
        "sk_", "rk_", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "xox", "AIza", "-----BEGIN"};

    /**
     * Windows as [start, end, counted characters, '+' signs, dots, longest run of consecutive digits],
     * sorted and not overlapping.
     */
    List<int[]> windows(String t) {
        return switch (this) {
            case ALL -> List.of(new int[] {0, t.length(), Integer.MAX_VALUE, Integer.MAX_VALUE, Integer.MAX_VALUE,
                Integer.MAX_VALUE});
            case NUMERIC -> runs(t, Trigger::numeric, Trigger::isDigit, 4);
            case UPPER_ALNUM -> runs(t, c -> (c >= 'A' && c <= 'Z') || isDigit(c) || c == ' ', Trigger::isDigit, 8);
            case HEX_COLON -> ipv6Runs(t);
            case AT_SIGN -> around(t);
            case SECRET_PREFIX -> prefixes(t);
        };
    }

    private static boolean isDigit(char c) {
        return c >= '0' && c <= '9';
    }

    private static boolean numeric(char c) {
        return isDigit(c) || c == ' ' || c == '-' || c == '.' || c == '(' || c == ')' || c == '+' || c == '/';
    }

    private interface CharTest {
        boolean test(char c);
    }

    private static List<int[]> runs(String t, CharTest member, CharTest counted, int minCount) {
        List<int[]> out = new ArrayList<>();
        int n = t.length();
        int i = 0;
        while (i < n) {
            if (!member.test(t.charAt(i))) {
                i++;
                continue;
            }
            int start = i;
            int count = 0;
            int plus = 0;
            int dots = 0;
            int run = 0;
            int longest = 0;
            while (i < n && member.test(t.charAt(i))) {
                char c = t.charAt(i);
                if (counted.test(c)) {
                    count++;
                }
                if (c == '+') {
                    plus++;
                } else if (c == '.') {
                    dots++;
                }
                run = isDigit(c) ? run + 1 : 0;
                longest = Math.max(longest, run);
                i++;
            }
            if (count >= minCount) {
                add(out, Math.max(0, start - 1), Math.min(n, i + 1), count, plus, dots, longest);
            }
        }
        return out;
    }

    /** Hex-colon runs that can be an IPv6 address: with "::", or with the seven colons of the full form. */
    private static List<int[]> ipv6Runs(String t) {
        List<int[]> out = new ArrayList<>();
        for (int[] w : runs(t, c -> Character.digit(c, 16) >= 0 || c == ':' || c == '.', c -> c == ':', 2)) {
            if (w[2] >= 7 || t.substring(w[0], w[1]).contains("::")) {
                out.add(w);
            }
        }
        return out;
    }

    private static boolean emailChar(char c) {
        return Character.isLetterOrDigit(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-';
    }

    private static List<int[]> around(String t) {
        List<int[]> out = new ArrayList<>();
        int at = t.indexOf('@');
        while (at >= 0) {
            int s = at;
            while (s > 0 && at - s < 80 && emailChar(t.charAt(s - 1))) {
                s--;
            }
            if (s >= 7 && t.regionMatches(true, s - 7, "mailto:", 0, 7)) {
                s -= 7; // a mailto: URI is masked whole
            }
            int e = at + 1;
            while (e < t.length() && e - at < 260 && emailChar(t.charAt(e))) {
                e++;
            }
            add(out, Math.max(0, s - 1), Math.min(t.length(), e + 1), Integer.MAX_VALUE, Integer.MAX_VALUE,
                    Integer.MAX_VALUE, Integer.MAX_VALUE);
            at = t.indexOf('@', at + 1);
        }
        return out;
    }

    private static List<int[]> prefixes(String t) {
        List<int[]> found = new ArrayList<>();
        for (String p : PREFIXES) {
            int i = t.indexOf(p);
            while (i >= 0) {
                int e;
                if (p.equals("-----BEGIN")) {
                    int end = t.indexOf("-----END", i);
                    int close = end < 0 ? -1 : t.indexOf("-----", end + 8);
                    e = close < 0 ? t.length() : close + 5;
                } else {
                    e = i + p.length();
                    while (e < t.length() && (Character.isLetterOrDigit(t.charAt(e)) || t.charAt(e) == '_'
                            || t.charAt(e) == '-' || t.charAt(e) == '.')) {
                        e++;
                    }
                }
                found.add(new int[] {Math.max(0, i - 1), Math.min(t.length(), e + 1)});
                i = t.indexOf(p, i + 1);
            }
        }
        if (found.size() > 1) {
            found.sort((a, b) -> Integer.compare(a[0], b[0]));
        }
        List<int[]> out = new ArrayList<>();
        for (int[] w : found) {
            add(out, w[0], w[1], Integer.MAX_VALUE, Integer.MAX_VALUE, Integer.MAX_VALUE, Integer.MAX_VALUE);
        }
        return out;
    }

    private static void add(List<int[]> out, int s, int e, int count, int plus, int dots, int longestRun) {
        if (!out.isEmpty() && out.get(out.size() - 1)[1] >= s) {
            int[] last = out.get(out.size() - 1);
            last[1] = Math.max(last[1], e);
            last[2] = sum(last[2], count);
            last[3] = sum(last[3], plus);
            last[4] = sum(last[4], dots);
            last[5] = Math.max(last[5], longestRun);
        } else {
            out.add(new int[] {s, e, count, plus, dots, longestRun});
        }
    }

    private static int sum(int a, int b) {
        return a == Integer.MAX_VALUE || b == Integer.MAX_VALUE ? Integer.MAX_VALUE : a + b;
    }
}
