package attest.masking;

import java.text.Normalizer;
import java.util.Map;

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
 * A JSON backslash-u escape (a backslash, u and four hex digits; a pair of escaped surrogate halves included) is
 * read as the character it stands for, then normalised like it: text that is itself JSON inside a JSON string
 * (tool-call arguments, a JSON-mode answer) is parsed once more by every client, which reads the escape as that
 * character. An HTML character
 * reference ({@code &#64;}, {@code &#x40;}, {@code &commat;}, {@code &nbsp;}) likewise: a browser and a markdown
 * renderer show its character; so are a markdown backslash escape of punctuation ({@code \@}, {@code \-},
 * {@code \_}) and a URL's percent-encoding of a printable ASCII character ({@code %40}).
 * <p>
 * A terminal's control sequences are removed (a terminal shows none of them): a CSI sequence ({@code ESC[31m}) and a
 * terminal string (OSC, as an OSC 8 hyperlink, DCS, SOS, PM, APC: see {@link #stringSequence}); what a string holds
 * (a hyperlink's target) is kept aside ({@link #hidden}) and scanned on its own.
 */
public final class Normalized {
    private final String text;
    private final int[] start;
    private final int[] end;
    private final String original;
    private final java.util.List<int[]> hidden;

    private Normalized(String text, int[] start, int[] end) {
        this(text, start, end, text, java.util.List.of());
    }

    private Normalized(String text, int[] start, int[] end, String original, java.util.List<int[]> hidden) {
        this.text = text;
        this.start = start;
        this.end = end;
        this.original = original;
        this.hidden = hidden;
    }

    public static Normalized of(String original) {
        boolean ascii = true;
        for (int k = 0; k < original.length(); k++) {
            if (original.charAt(k) >= 0x80 || invisibleAscii(original.charAt(k)) || escapeLength(original, k) > 0) {
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
        java.util.List<int[]> hidden = null;
        while (i < original.length()) {
            int control = controlSequence(original, i);
            if (control > 0) {
                i += control; // a terminal's control sequence (colour, cursor): not shown, nor any digit in it
                continue;
            }
            int string = stringSequence(original, i);
            if (string > 0) {
                // a terminal's string (an OSC 8 hyperlink's target, a window title): not shown, so removed here; what it
                // holds is scanned on its own (hidden)
                if (hidden == null) {
                    hidden = new java.util.ArrayList<>(2);
                }
                hidden.add(new int[] {i + stringStart(original, i), i + string - terminator(original, i, string)});
                i += string;
                continue;
            }
            int escape = escapeLength(original, i);
            int cp = escape > 0 ? escaped(original, i, escape) : original.codePointAt(i);
            int len = escape > 0 ? escape : Character.charCount(cp);
            String mapped = escape > 0 ? map(cp) : cp < 0x80 ? (invisibleAscii(cp) ? "" : null) : map(cp);
            if (mapped != null && !mapped.isEmpty() && n > 0 && isDigitAscii(out.charAt(n - 1)) && markOnDigit(cp)) {
                // a combining mark on a digit (an accent, the keycap of 4️⃣): a reader still reads the digit
                mapped = "";
            }
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
        return new Normalized(out.toString(), s, e, original, hidden == null ? java.util.List.of() : hidden);
    }

    /** The longest terminal string (OSC, DCS, SOS, PM, APC: start, text, terminator) read as one. */
    static final int STRING_MAX = 4096;

    /**
     * The length of the start of a terminal string at {@code i}: 2 for ESC and {@code ]} (OSC, as in an OSC 8 hyperlink
     * {@code ESC]8;;URI ST}), {@code P} (DCS), {@code X} (SOS), {@code ^} (PM) or {@code _} (APC); 1 for their C1 forms;
     * else 0.
     */
    static int stringStart(String s, int i) {
        char c = s.charAt(i);
        if (c == 0x1B) {
            return i + 1 < s.length() && "]PX^_".indexOf(s.charAt(i + 1)) >= 0 ? 2 : 0;
        }
        return c == 0x9D || c == 0x90 || c == 0x98 || c == 0x9E || c == 0x9F ? 1 : 0;
    }

    /**
     * The length of the terminal string at {@code i}, its terminator included, or 0: a terminal shows none of it. It
     * ends at BEL or ST ({@code ESC \} or U+009C), is cancelled by CAN or SUB, and ends before any other ESC or C1
     * control (which starts a sequence of its own); one that does not end within {@link #STRING_MAX} characters is not
     * read as one (its characters are read as text). Linear: a scan stops at the first such character.
     */
    static int stringSequence(String s, int i) {
        int body = stringStart(s, i);
        if (body == 0) {
            return 0;
        }
        int limit = Math.min(s.length(), i + STRING_MAX);
        for (int j = i + body; j < limit; j++) {
            char c = s.charAt(j);
            if (c == 0x07 || c == 0x9C || c == 0x18 || c == 0x1A) {
                return j + 1 - i;
            }
            if (c == 0x1B) {
                return j + 1 < limit && s.charAt(j + 1) == '\\' ? j + 2 - i : j - i;
            }
            if (c >= 0x80 && c <= 0x9F) {
                return j - i;
            }
        }
        return 0;
    }

    /** The length of the terminator of the terminal string of {@code length} characters at {@code i}. */
    private static int terminator(String s, int i, int length) {
        char last = s.charAt(i + length - 1);
        if (last == '\\' && length >= 2 && s.charAt(i + length - 2) == 0x1B) {
            return 2;
        }
        return last == 0x07 || last == 0x9C || last == 0x18 || last == 0x1A ? 1 : 0;
    }

    /** The original text. */
    String original() {
        return original;
    }

    /**
     * What terminal strings in the original hold ({@link #stringSequence}: an OSC 8 hyperlink's target), as original
     * [start, end): removed from the normalised text, and scanned on their own.
     */
    java.util.List<int[]> hidden() {
        return hidden;
    }

    /**
     * The length of the JSON escape at {@code i}: 12 for an escaped surrogate pair, 6 for an escape of any other
     * character but a lone surrogate half, else 0.
     */
    static int escapeLength(String s, int i) {
        if (s.charAt(i) == '&') {
            return reference(s, i) >> 21;
        }
        if (s.charAt(i) == '%') {
            return percent(s, i) < 0 ? 0 : 3;
        }
        int c = hexEscape(s, i);
        if (c < 0) {
            return punctuationEscape(s, i) ? 2 : 0;
        }
        if (!Character.isSurrogate((char) c)) {
            return 6;
        }
        int low = Character.isHighSurrogate((char) c) ? hexEscape(s, i + 6) : -1;
        return low >= 0 && Character.isLowSurrogate((char) low) ? 12 : 0;
    }

    /** The longest control sequence read as one (a terminal's CSI: parameters, intermediates, final byte). */
    static final int CONTROL_MAX = 64;

    /**
     * The length of the ANSI control sequence (CSI: ESC, {@code [}, parameter bytes 0x30-0x3F, intermediate bytes
     * 0x20-0x2F, a final byte 0x40-0x7E, at most {@link #CONTROL_MAX} characters) at {@code i}, else 0. A terminal (a
     * command-line client, curl) shows none of it: {@code 4111 ESC[0m1111 ...} is a card to its reader.
     */
    static int controlSequence(String s, int i) {
        if (s.charAt(i) != 0x1B || i + 1 >= s.length() || s.charAt(i + 1) != '[') {
            return 0;
        }
        int j = i + 2;
        while (j < s.length() && j - i < CONTROL_MAX && s.charAt(j) >= 0x30 && s.charAt(j) <= 0x3F) {
            j++;
        }
        while (j < s.length() && j - i < CONTROL_MAX && s.charAt(j) >= 0x20 && s.charAt(j) <= 0x2F) {
            j++;
        }
        return j < s.length() && j - i < CONTROL_MAX && s.charAt(j) >= 0x40 && s.charAt(j) <= 0x7E ? j + 1 - i : 0;
    }

    /** The code point of the escape of {@code length} characters at {@code i}. */
    private static int escaped(String s, int i, int length) {
        if (s.charAt(i) == '&') {
            return reference(s, i) & 0x1FFFFF;
        }
        if (s.charAt(i) == '%') {
            return percent(s, i);
        }
        if (length == 2) {
            return s.charAt(i + 1);
        }
        char c = (char) hexEscape(s, i);
        return length == 12 ? Character.toCodePoint(c, (char) hexEscape(s, i + 6)) : c;
    }

    /** Named HTML character references that write a character an entity is made of. */
    private static final Map<String, Integer> NAMED = Map.of("nbsp", 0xA0, "commat", 0x40, "period", 0x2E,
            "hyphen", 0x2010, "dash", 0x2010, "plus", 0x2B, "lpar", 0x28, "rpar", 0x29, "sol", 0x2F, "colon", 0x3A);

    /**
     * An HTML character reference at {@code i} (a browser, and every markdown renderer, shows it as its character):
     * {@code &#64;}, {@code &#x40;} (the semicolon optional, as browsers read them) or a named one ({@code &commat;},
     * {@code &nbsp;}); its length in the upper bits, its code point in the lower 21, or 0.
     */
    private static int reference(String s, int i) {
        if (i + 1 >= s.length() || s.charAt(i) != '&') {
            return 0;
        }
        if (s.charAt(i + 1) != '#') {
            int semi = s.indexOf(';', i + 1);
            Integer cp = semi < 0 || semi - i > 8 ? null : NAMED.get(s.substring(i + 1, semi));
            return cp == null ? 0 : (semi + 1 - i) << 21 | cp;
        }
        boolean hex = i + 2 < s.length() && (s.charAt(i + 2) == 'x' || s.charAt(i + 2) == 'X');
        int k = i + (hex ? 3 : 2);
        int v = 0;
        int digits = 0;
        while (k < s.length() && digits < 8) {
            char c = s.charAt(k);
            int d = c < 0x80 ? Character.digit(c, hex ? 16 : 10) : -1;
            if (d < 0) {
                break;
            }
            v = v * (hex ? 16 : 10) + d;
            digits++;
            k++;
        }
        if (digits == 0 || digits == 8 || v == 0 || v > Character.MAX_CODE_POINT || Character.isSurrogate((char) v)
                && v <= 0xFFFF) {
            return 0;
        }
        if (k < s.length() && s.charAt(k) == ';') {
            k++;
        }
        return (k - i) << 21 | v;
    }

    /**
     * A backslash before ASCII punctuation (a markdown escape, {@code jane\.doe\@example\.com}, and a JSON escape
     * of a quote or a backslash): a renderer shows the punctuation alone.
     */
    private static boolean punctuationEscape(String s, int i) {
        if (i + 1 >= s.length() || s.charAt(i) != '\\') {
            return false;
        }
        char c = s.charAt(i + 1);
        return c > 0x20 && c < 0x7F && !Character.isLetterOrDigit(c);
    }

    /** The printable ASCII character of a URL's percent-encoding at {@code i} ({@code %40}), or -1. */
    private static int percent(String s, int i) {
        if (i + 3 > s.length() || s.charAt(i) != '%' || s.charAt(i + 1) >= 0x80 || s.charAt(i + 2) >= 0x80) {
            return -1;
        }
        int hi = Character.digit(s.charAt(i + 1), 16);
        int lo = Character.digit(s.charAt(i + 2), 16);
        int c = hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
        return c >= 0x20 && c < 0x7F ? c : -1;
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

    /**
     * An ASCII control character that a reader does not show (NUL, BEL, ESC, DEL, ...): every C0 control but the tab and
     * the line ends (LF, CR, FF, VT), and DEL. Removed for detection like a format character: {@code 4111<NUL>1111 ...}
     * reads as a card.
     */
    static boolean invisibleAscii(int c) {
        return c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != 0x0B || c == 0x7F;
    }

    private static boolean isDigitAscii(char c) {
        return c >= '0' && c <= '9';
    }

    private static boolean markOnDigit(int cp) {
        int type = Character.getType(cp);
        return type == Character.NON_SPACING_MARK || type == Character.ENCLOSING_MARK;
    }

    /**
     * A code point that a reader does not show although it is no format character: the C1 controls (but NEL, a line
     * end), the combining grapheme joiner, variation selectors (of emoji too), the Mongolian free variation selectors,
     * the Khmer inherent vowels, the Hangul fillers (Unicode's Default_Ignorable_Code_Point outside Cf).
     */
    private static boolean ignorable(int cp) {
        return cp >= 0x80 && cp <= 0x9F && cp != 0x85 || cp == 0x034F || cp == 0x115F || cp == 0x1160
                || cp == 0x17B4 || cp == 0x17B5 || cp >= 0x180B && cp <= 0x180F || cp == 0x3164
                || cp >= 0xFE00 && cp <= 0xFE0F || cp == 0xFFA0 || cp >= 0xE0100 && cp <= 0xE01EF;
    }

    private static String map(int cp) {
        if (cp < 0x80) {
            return invisibleAscii(cp) ? "" : String.valueOf((char) cp);
        }
        if (ignorable(cp)) {
            return "";
        }
        if (cp == 0x2800) {
            return " "; // the braille pattern blank: shown as a blank cell
        }
        switch (cp) {
            case 0x180E:
                return "";
            case 0xFFFD:
                // the replacement character: what a reader shows for a byte that is not UTF-8 (a stream's or a JSON
                // line's stray byte, decoded so); it hides no entity, as the text path keeps such a byte aside
                return "";
            default:
                break;
        }
        if (cp >= 0xD800 && cp <= 0xDFFF) {
            // a lone surrogate (a pair is one code point here): the text path keeps a byte that is not UTF-8 aside as
            // U+DC80-U+DCFF (JsonMasker.decodeKeepingBytes), and a JSON escape may name half a pair; a reader shows
            // either as U+FFFD, so it hides no entity either
            return "";
        }
        switch (cp) {
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
