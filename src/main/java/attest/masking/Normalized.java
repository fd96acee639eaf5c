package attest.masking;

import java.text.Normalizer;

/**
 * Text prepared for detection only, with a map back to the original. Detection runs on the normalised
 * form; masks are applied to the original span, so the text around an entity is left as it was.
 * <p>
 * Applied, one code point at a time: removal of every format character (zero-width characters, soft
 * hyphen, bidi marks, word joiner, BOM), every Unicode space separator (NBSP, narrow NBSP, thin, figure,
 * ideographic ...) to a plain space, every dash (Pd: hyphens, en and em dash, full-width and small
 * hyphen-minus) and the minus sign to '-', any Unicode decimal digit (Nd: full-width, Arabic-Indic,
 * Devanagari, mathematical ...) to its ASCII digit, and NFKC for the rest (full-width letters, '＋' and
 * U+FE62 to '+', '．' to '.').
 * <p>
 * A JSON backslash-u escape ({@code \u0040}, a pair of escaped surrogate halves included) is read as the character
 * it stands for, then normalised like it: text that is itself JSON inside a JSON string (tool-call arguments, a
 * JSON-mode answer) is parsed once more by every client, which reads the escape as that character.
 */
public final class Normalized {
    private final String text;
    private final int[] start;
    private final int[] end;

    private Normalized(String text, int[] start, int[] end) {
        this.text = text;
        this.start = start;
        this.end = end;
    }

    public static Normalized of(String original) {
        boolean ascii = true;
        for (int k = 0; k < original.length(); k++) {
            if (original.charAt(k) >= 0x80 || escapeLength(original, k) > 0) {
                ascii = false;
                break;
            }
        }
        if (ascii) {
            // nothing to normalise: offsets map to themselves
            return new Normalized(original, null, null);
        }
        StringBuilder out = new StringBuilder(original.length());
        int[] s = new int[original.length() + 1];
        int[] e = new int[original.length() + 1];
        int n = 0;
        int i = 0;
        while (i < original.length()) {
            int escape = escapeLength(original, i);
            int cp = escape > 0 ? escaped(original, i, escape) : original.codePointAt(i);
            int len = escape > 0 ? escape : Character.charCount(cp);
            String mapped = escape > 0 ? map(cp) : cp < 0x80 ? null : map(cp);
            if (mapped == null) {
                if (n + 1 >= s.length) {
                    s = java.util.Arrays.copyOf(s, s.length * 2);
                    e = java.util.Arrays.copyOf(e, e.length * 2);
                }
                out.append((char) cp);
                s[n] = i;
                e[n] = i + 1;
                n++;
                i += len;
                continue;
            }
            for (int k = 0; k < mapped.length(); k++) {
                if (n + 1 >= s.length) {
                    s = java.util.Arrays.copyOf(s, s.length * 2);
                    e = java.util.Arrays.copyOf(e, e.length * 2);
                }
                out.append(mapped.charAt(k));
                s[n] = i;
                e[n] = i + len;
                n++;
            }
            i += len;
        }
        s[n] = original.length();
        e[n] = original.length();
        return new Normalized(out.toString(), s, e);
    }

    /**
     * The length of the JSON escape at {@code i}: 12 for an escaped surrogate pair, 6 for an escape of any other
     * character but a lone surrogate half, else 0.
     */
    static int escapeLength(String s, int i) {
        int c = hexEscape(s, i);
        if (c < 0) {
            return 0;
        }
        if (!Character.isSurrogate((char) c)) {
            return 6;
        }
        int low = Character.isHighSurrogate((char) c) ? hexEscape(s, i + 6) : -1;
        return low >= 0 && Character.isLowSurrogate((char) low) ? 12 : 0;
    }

    /** The code point of the escape of {@code length} characters at {@code i}. */
    private static int escaped(String s, int i, int length) {
        char c = (char) hexEscape(s, i);
        return length == 12 ? Character.toCodePoint(c, (char) hexEscape(s, i + 6)) : c;
    }

    /** The value of a backslash-u escape with four hex digits at {@code i}, or -1. */
    private static int hexEscape(String s, int i) {
        if (i + 6 > s.length() || s.charAt(i) != '\\' || s.charAt(i + 1) != 'u') {
            return -1;
        }
        int v = 0;
        for (int k = i + 2; k < i + 6; k++) {
            int d = Character.digit(s.charAt(k), 16);
            if (d < 0 || s.charAt(k) >= 0x80) {
                return -1;
            }
            v = v * 16 + d;
        }
        return v;
    }

    private static String map(int cp) {
        switch (cp) {
            case 0x180E:
                return "";
            case 0x2212, 0x2043, 0x02D7:
                // minus sign, hyphen bullet, modifier letter minus (not in the dash category)
                return "-";
            default:
                break;
        }
        int type = Character.getType(cp);
        if (type == Character.FORMAT) {
            // zero-width characters, soft hyphen, bidi marks and isolates, word joiner, BOM, tags
            return "";
        }
        if (type == Character.SPACE_SEPARATOR) {
            // NBSP, narrow NBSP, figure, thin, hair, ideographic and every other space
            return " ";
        }
        if (type == Character.DASH_PUNCTUATION) {
            // hyphen, non-breaking hyphen, figure, en and em dash, full-width and small hyphen-minus, ...
            return "-";
        }
        if (cp < 0x80) {
            return String.valueOf((char) cp);
        }
        if (Character.getType(cp) == Character.DECIMAL_DIGIT_NUMBER) {
            return String.valueOf((char) ('0' + Character.digit(cp, 10)));
        }
        String nfkc = Normalizer.normalize(new String(Character.toChars(cp)), Normalizer.Form.NFKC);
        StringBuilder sb = new StringBuilder(nfkc.length());
        nfkc.codePoints().forEach(c -> {
            if (c >= 0x80 && Character.getType(c) == Character.DECIMAL_DIGIT_NUMBER) {
                sb.append((char) ('0' + Character.digit(c, 10)));
            } else {
                sb.appendCodePoint(c);
            }
        });
        return sb.toString();
    }

    /** The normalised text, for detection. */
    public String text() {
        return text;
    }

    /** The original offset where the normalised character at {@code i} starts. */
    public int originalStart(int i) {
        return start == null ? i : start[i];
    }

    /** The original offset just after the normalised range ending (exclusive) at {@code i}. */
    public int originalEnd(int iExclusive) {
        if (end == null) {
            return iExclusive;
        }
        return iExclusive == 0 ? 0 : end[iExclusive - 1];
    }
}
