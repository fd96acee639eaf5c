package attest.masking;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * Readings of a text across its soft line breaks. A markdown renderer shows a single line break as a space (a chat UI
 * shows {@code 4111 1111\n1111 1111} as a card), and a hard-wrapped run ({@code 4111111111\n111111}) is one value
 * to its reader; the detectors take a line break as the end of a value. So each single line break (with the spaces and
 * tabs around it) is also read as a space ("spaced") and as nothing ("glued"), <em>one break at a time</em>: the
 * reading is the two lines around that break only, so a value spans at most one break, and a column of numbers is
 * never read as one long number. A blank line (a paragraph) is a real separation and is not joined.
 * <p>
 * An entity found in a reading counts only when it has characters on both sides of the break, and only where the
 * lines alone hold no entity that it overlaps (a glued reading) or where it holds every such entity whole (a spaced
 * reading: a phone's last group on the next line). Breaks are not read across: between lines of a markdown table,
 * before a list item, or inside a column of numbers (a third line of one number of about the same length above the
 * two), where each line is a value of its own. Each reading covers at most {@link #REACH} characters on each side, so the
 * cost stays linear in the text.
 */
final class SoftBreaks {
    /** How far a reading reaches on each side of a break (an entity longer than this is not joined across one). */
    static final int REACH = 128;

    private SoftBreaks() {
    }

    static boolean lineBreak(char c) {
        return c == '\n' || c == '\r' || c == '\u0085' || c == '\u2028';
    }

    private static boolean blank(char c) {
        return c == ' ' || c == '\t';
    }

    /** A character an entity is made of (as {@link StreamingTextMasker#openTail} holds them). */
    static boolean entityChar(char c) {
        return Character.isLetterOrDigit(c) || ".-_@+:/=()%".indexOf(c) >= 0;
    }

    /**
     * The findings across single line breaks of the normalised text {@code t} (in its offsets, marked
     * {@link Finding#acrossBreak}), for breaks whose reading ends after {@code from}; {@code detect} finds the candidates
     * in a text, {@code base} are those of the lines as they stand.
     */
    static List<Finding> across(String t, int from, Function<String, List<Finding>> detect, List<Finding> base) {
        List<Finding> out = new ArrayList<>(0);
        int len = t.length();
        int p = t.length() == 0 ? -1 : nextBreak(t, 0);
        while (p >= 0 && p < len) {
            char c = t.charAt(p);
            int brEnd = c == '\r' && p + 1 < len && t.charAt(p + 1) == '\n' ? p + 2 : p + 1;
            int bs = p;
            while (bs > 0 && blank(t.charAt(bs - 1))) {
                bs--;
            }
            int be = brEnd;
            while (be < len && blank(t.charAt(be))) {
                be++;
            }
            int next = nextBreak(t, brEnd);
            if (bs > 0 && be < len && !lineBreak(t.charAt(bs - 1)) && !lineBreak(t.charAt(be))
                    && entityChar(t.charAt(bs - 1)) && entityChar(t.charAt(be)) && mayJoin(t, bs, be)) {
                read(t, from, bs, be, next < 0 ? len : next, detect, base, out);
            }
            p = next;
        }
        return out;
    }

    /** The longest word looked at on each side of a break by {@link #mayJoin}. */
    private static final int WORD = 64;

    /**
     * Whether the words on the two sides of the break [bs, be) may be parts of one entity: either holds an '@' (an
     * e-mail address), or both are parts of a number (cards, SSNs, phones, IBANs: a word with a digit, or an IBAN's
     * group of up to four upper-case letters or digits) and one of them has a digit. Prose ({@code in 2024
the}) is
     * not read, which keeps the readings few.
     */
    private static boolean mayJoin(String t, int bs, int be) {
        int s = bs;
        while (s > 0 && bs - s < WORD && !blank(t.charAt(s - 1)) && !lineBreak(t.charAt(s - 1))) {
            s--;
        }
        int e = be;
        while (e < t.length() && e - be < WORD && !blank(t.charAt(e)) && !lineBreak(t.charAt(e))) {
            e++;
        }
        if (bs - s == WORD || e - be == WORD) {
            return true;
        }
        for (int i = s; i < e; i++) {
            if (t.charAt(i) == '@') {
                return true;
            }
        }
        boolean digitBefore = hasDigit(t, s, bs);
        boolean digitAfter = hasDigit(t, be, e);
        return (digitBefore || digitAfter) && (digitBefore || upperGroup(t, s, bs)) && (digitAfter
                || upperGroup(t, be, e));
    }

    private static boolean hasDigit(String t, int s, int e) {
        for (int i = s; i < e; i++) {
            if (t.charAt(i) >= '0' && t.charAt(i) <= '9') {
                return true;
            }
        }
        return false;
    }

    /** A group of up to four upper-case letters (an IBAN's: {@code WEST}, {@code ABNA}). */
    private static boolean upperGroup(String t, int s, int e) {
        if (e - s > 4) {
            return false;
        }
        for (int i = s; i < e; i++) {
            if (!(t.charAt(i) >= 'A' && t.charAt(i) <= 'Z')) {
                return false;
            }
        }
        return e > s;
    }

    private static int nextBreak(String t, int from) {
        for (int i = from; i < t.length(); i++) {
            if (lineBreak(t.charAt(i))) {
                return i;
            }
        }
        return -1;
    }

    /** Reads the break [bs, be) (its blanks included) between the line ending at bs and the one ending at le. */
    private static void read(String t, int from, int bs, int be, int le, Function<String, List<Finding>> detect,
                             List<Finding> base, List<Finding> out) {
        int ls = bs;
        while (ls > 0 && !lineBreak(t.charAt(ls - 1))) {
            ls--;
        }
        int ws = Math.max(ls, bs - REACH);
        while (ws > ls && ws < bs && Character.isLetterOrDigit(t.charAt(ws - 1))
                && Character.isLetterOrDigit(t.charAt(ws))) {
            ws++; // begin at a word's start: a number cut at the reach is not read as a shorter one
        }
        int we = Math.min(le, be + REACH);
        while (we < le && we > be && Character.isLetterOrDigit(t.charAt(we - 1))
                && Character.isLetterOrDigit(t.charAt(we))) {
            we--;
        }
        if (we <= from || ws >= bs || we <= be || !worthReading(t, ws, we) || table(t, ls, bs) || table(t, be, le)
                || listItem(t, be, le) || column(t, ls, bs, be, le)) {
            return;
        }
        String head = t.substring(ws, bs);
        String tail = t.substring(be, we);
        for (String joiner : new String[] {" ", ""}) {
            String reading = head + joiner + tail;
            int after = head.length() + joiner.length();
            for (Finding f : detect.apply(reading)) {
                if (f.start() >= head.length() || f.end() <= after) {
                    continue; // on one side only: the lines as they stand have it
                }
                Finding j = new Finding(f.entityType(), ws + f.start(), be + f.end() - after, f.score(), f.detector(),
                        true);
                if (fits(j, base, !joiner.isEmpty())) {
                    out.add(j);
                }
            }
        }
    }

    /**
     * Whether the joined finding may stand next to those of the lines as they stand: a glued one only where it overlaps
     * none of them (glued, {@code jane@example.com\nthen} would take the next word), a spaced one where it holds every
     * one it overlaps whole.
     */
    private static boolean fits(Finding j, List<Finding> base, boolean spaced) {
        for (Finding b : base) {
            if (b.overlaps(j) && (!spaced || b.start() < j.start() || b.end() > j.end())) {
                return false;
            }
        }
        return true;
    }

    /** Only a reading with a digit or an '@' in it can hold an entity across the break (the rest is prose). */
    private static boolean worthReading(String t, int ws, int we) {
        for (int i = ws; i < we; i++) {
            char c = t.charAt(i);
            if ((c >= '0' && c <= '9') || c == '@') {
                return true;
            }
        }
        return false;
    }

    /** A markdown table's row (it starts with a pipe): each row is a line of its own. */
    private static boolean table(String t, int ls, int le) {
        int s = ls;
        while (s < le && blank(t.charAt(s))) {
            s++;
        }
        return s < le && t.charAt(s) == '|';
    }

    /** A line that starts a list item ({@code - }, {@code * }, {@code + }, {@code 1. }, {@code 2) }): a new item. */
    private static boolean listItem(String t, int s, int le) {
        if (s + 1 < le && "-*+".indexOf(t.charAt(s)) >= 0 && blank(t.charAt(s + 1))) {
            return true;
        }
        int i = s;
        while (i < le && i - s < 9 && t.charAt(i) >= '0' && t.charAt(i) <= '9') {
            i++;
        }
        return i > s && i + 1 < le && (t.charAt(i) == '.' || t.charAt(i) == ')') && blank(t.charAt(i + 1));
    }

    /**
     * Whether the two lines are part of a column of numbers: each is one number (digits and number punctuation), and so
     * is the line above them, all of about one length (within two characters). Only the line above is looked at, never
     * the one below: in a stream the lines below have not arrived when these two are released.
     */
    private static boolean column(String t, int ls, int bs, int be, int le) {
        int a = numberLength(t, ls, bs);
        int b = numberLength(t, be, le);
        if (ls == 0 || a < 0 || b < 0 || Math.abs(a - b) > 2) {
            return false;
        }
        int end = ls - 1; // the line above ends at the break before ls
        if (end > 0 && t.charAt(end) == '\n' && t.charAt(end - 1) == '\r') {
            end--;
        }
        int s = end;
        while (s > 0 && !lineBreak(t.charAt(s - 1))) {
            s--;
        }
        int c = numberLength(t, s, end);
        return c >= 0 && Math.abs(c - a) <= 2;
    }

    /** The length of the line [s, e) without its blanks when it is one number, else -1. */
    private static int numberLength(String t, int s, int e) {
        while (s < e && blank(t.charAt(s))) {
            s++;
        }
        while (e > s && blank(t.charAt(e - 1))) {
            e--;
        }
        boolean digit = false;
        for (int i = s; i < e; i++) {
            char c = t.charAt(i);
            if (c >= '0' && c <= '9') {
                digit = true;
            } else if (" -./()+".indexOf(c) < 0) {
                return -1;
            }
        }
        return digit ? e - s : -1;
    }
}
