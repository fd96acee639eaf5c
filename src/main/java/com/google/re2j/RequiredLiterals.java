package com.google.re2j;

import java.util.HashSet;
import java.util.Set;

/**
 * The literals a pattern's matches must contain, from RE2J's own parse of the pattern (this class lives in RE2J's
 * package for its parser, which is not public): a set of strings such that every match of the pattern, with any
 * flags, contains at least one of them in the text as {@link #fold folded}. A text that contains none of them
 * cannot match, so the pattern need not run over it. RE2J's unanchored search costs about a microsecond per
 * character and pattern (it adds an NFA thread at every position); {@code String.indexOf} of a few literals costs a
 * hundredth of that (issue #12: an 8 KiB prompt spent 13 ms of CPU in risk assessment).
 * <p>Conservative by construction: where the parse gives no literal that every match needs (a class, an optional
 * part, a literal with characters outside ASCII), the answer is "none known" ({@code null}) and the pattern always
 * runs. Case is folded on both sides, whatever the pattern's flags: only the folds RE2 applies to ASCII letters
 * exist ({@code k}, {@code K} and U+212A KELVIN SIGN; {@code s}, {@code S} and U+017F LONG S), so folding can only
 * widen a match, never lose one.
 */
public final class RequiredLiterals {
    /** More alternatives than this: none known (the check would cost more than it saves). */
    private static final int MAX_LITERALS = 64;

    private RequiredLiterals() {
    }

    /**
     * The literals (folded, each non-empty) of which every match of {@code regex} contains at least one; null when
     * none are known (the pattern must always run), or when RE2J cannot parse it.
     */
    public static Set<String> of(String regex) {
        try {
            Set<String> s = required(Simplify.simplify(Parser.parse("(?i)" + regex, RE2.PERL)));
            return s == null ? null : Set.copyOf(s);
        } catch (RuntimeException | StackOverflowError e) {
            return null; // none known: the pattern always runs
        }
    }

    /** Whether {@code folded} (a text {@link #fold folded}) contains one of {@code literals}. */
    public static boolean anyIn(String folded, Set<String> literals) {
        for (String l : literals) {
            if (folded.contains(l)) {
                return true;
            }
        }
        return false;
    }

    /**
     * The text with RE2's case folds of ASCII letters applied: ASCII lower case, U+212A KELVIN SIGN as {@code k},
     * U+017F LATIN SMALL LETTER LONG S as {@code s}; every other character as it is (none of them folds to ASCII).
     */
    public static String fold(String text) {
        char[] out = null;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            char f = c >= 'A' && c <= 'Z' ? (char) (c + ('a' - 'A')) : c == '\u212A' ? 'k' : c == '\u017F' ? 's' : c;
            if (f != c) {
                if (out == null) {
                    out = text.toCharArray();
                }
                out[i] = f;
            }
        }
        return out == null ? text : new String(out);
    }

    private static Set<String> required(Regexp re) {
        switch (re.op) {
            case LITERAL:
                return literal(re.runes);
            case CAPTURE:
            case PLUS:
                return required(re.subs[0]);
            case REPEAT:
                return re.min >= 1 ? required(re.subs[0]) : null;
            case CONCAT: {
                // every match contains a match of each part: the most selective part's literals
                Set<String> best = null;
                for (Regexp sub : re.subs) {
                    Set<String> s = required(sub);
                    if (s != null && (best == null || better(s, best))) {
                        best = s;
                    }
                }
                return best;
            }
            case ALTERNATE: {
                // a match is a match of one of the alternatives: the union, if every alternative has literals
                Set<String> all = new HashSet<>();
                for (Regexp sub : re.subs) {
                    Set<String> s = required(sub);
                    if (s == null) {
                        return null;
                    }
                    all.addAll(s);
                    if (all.size() > MAX_LITERALS) {
                        return null;
                    }
                }
                return all.isEmpty() ? null : all;
            }
            default:
                return null;
        }
    }

    /** A literal's folded text, or null when it holds a character outside ASCII (none known, conservatively). */
    private static Set<String> literal(int[] runes) {
        if (runes == null || runes.length == 0) {
            return null;
        }
        StringBuilder b = new StringBuilder(runes.length);
        for (int r : runes) {
            if (r == 0x212A) {
                b.append('k');
            } else if (r == 0x17F) {
                b.append('s');
            } else if (r < 0x80) {
                b.append(r >= 'A' && r <= 'Z' ? (char) (r + ('a' - 'A')) : (char) r);
            } else {
                return null;
            }
        }
        return Set.of(b.toString());
    }

    /** More selective: a longer shortest literal, then fewer literals. */
    private static boolean better(Set<String> a, Set<String> b) {
        int ma = a.stream().mapToInt(String::length).min().orElse(0);
        int mb = b.stream().mapToInt(String::length).min().orElse(0);
        return ma != mb ? ma > mb : a.size() < b.size();
    }
}
