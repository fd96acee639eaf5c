package attest.masking;

import java.util.function.Consumer;

/**
 * Masks one text that arrives in pieces (the content of one streamed choice). It releases at once every
 * part that can no longer become part of an entity, and holds back only the tail that still could: a run of
 * characters that entities are made of, a detected entity that touches the end (it may grow), or an
 * unterminated private-key block. An entity split at any point across any number of pieces is therefore
 * never released in part. When the stream ends normally the tail is masked and released; when it breaks
 * off, the tail is dropped, never released raw, and reported as dropped ({@link #abandon()}).
 */
public final class StreamingTextMasker {
    /** Above this, the held tail is released in part (bounds memory and delay): see {@link #forcedCut}. */
    static final int MAX_HOLD = 8192;
    /** What a forced release keeps held: an entity up to this long is found whole wherever the bound falls. */
    static final int KEEP = MAX_HOLD / 2;
    private static final int CONTEXT = Detector.CONTEXT_WINDOW;
    /** A line up to this long is kept whole as context when it is part of a table, CSV or an SQL statement. */
    static final int LINE_CONTEXT = 512;
    /** How many short lower-case groups in a row may hold (the letter groups of a lower-case IBAN). */
    static final int LOWER_GROUPS = 8;

    private final Masker masker;
    private final String location;
    private final Consumer<Redaction> report;
    private final StringBuilder pending = new StringBuilder();
    private String context = "";

    public StreamingTextMasker(Masker masker, String location, Consumer<Redaction> report) {
        this.masker = masker;
        this.location = location;
        this.report = report;
    }

    /** Adds a piece; returns the masked text that may be released now (possibly empty). */
    public String push(String piece) {
        pending.append(piece);
        String text = pending.toString();
        int safe = safeLength(text);
        if (safe == 0 && text.length() <= MAX_HOLD) {
            return "";
        }
        if (safe == 0) {
            safe = forcedCut(text);
        }
        return safe == 0 ? "" : release(text, safe);
    }

    /**
     * Where a held text over {@link #MAX_HOLD} is cut when nothing of it is safe to release (one long run that could
     * still become an entity: {@code 1 1 1 ...}). It was released whole, masked as it stood: a card split across two
     * events at the bound went out in two raw halves. Now all but the last {@link #KEEP} characters as the detectors read
     * them (normalised: a run padded with zero-width characters keeps 4 KiB of what they see, not of its padding) go
     * out, and the cut is moved off any entity found across it (to its end when it is whole, to its start when it touches
     * the end and may grow), so only an entity longer than {@link #KEEP} can be cut: a secret. A secret is never
     * released in part: the cut is moved to the start of a private-key block that has not ended, or of a run that starts
     * as a secret does ({@link #SECRET_START}: a JWT, an API key); where that start is the start of the held text (the
     * secret alone is longer than the bound), or the held text, at twice the bound, holds fewer than {@link #KEEP}
     * characters the detectors read (it is held whole until then, 0 is returned), the holder cannot decide within its
     * bound and the stream is cut ({@code MALFORMED_STREAM}/{@code cut},
     * {@value #TOO_LONG}): failing closed costs the caller the rest of one answer, releasing in part costs the secret.
     * Never between the halves of a surrogate pair.
     */
    private int forcedCut(String text) {
        Normalized n = Normalized.of(text);
        String t = n.text();
        if (t.length() <= KEEP) {
            // more than half of it is what the detectors do not read one for one (zero-width or other format
            // characters, escapes): no cut is off every entity; held whole up to twice the bound, then refused
            if (text.length() <= 2 * MAX_HOLD) {
                return 0;
            }
            throw StreamShape.refuse(report, where(), TOO_LONG);
        }
        int cutAt = t.length() - KEEP;
        int secret = secretAcross(t, cutAt);
        if (secret == 0) {
            throw StreamShape.refuse(report, where(), TOO_LONG);
        }
        int cut = n.originalStart(secret > 0 ? secret : cutAt);
        String scanned = context + text;
        int offset = context.length();
        for (Finding f : masker.engine().scanFrom(scanned, offset)) {
            int start = f.start() - offset;
            int end = f.end() - offset;
            if (start < cut && cut < end) {
                cut = end < text.length() ? end : start;
                break;
            }
        }
        if (cut > 0 && cut < text.length() && Character.isHighSurrogate(text.charAt(cut - 1))) {
            cut--;
        }
        if (cut <= 0) {
            // an entity found across the whole held text that may still grow: released now, its rest would go out raw
            throw StreamShape.refuse(report, where(), TOO_LONG);
        }
        return cut;
    }

    /** Why a stream is cut when its held text reaches the bound inside what may be a secret. */
    static final String TOO_LONG = "held_entity_too_long";

    /**
     * A secret that may be longer than {@link #KEEP} starts so (at a word's start): a JWT, the keys whose patterns have no
     * upper bound (OpenAI / Anthropic, Stripe, Slack, GitHub fine-grained tokens).
     */
    static final java.util.regex.Pattern SECRET_START = java.util.regex.Pattern.compile(
            "\\b(?:eyJ|sk-|sk_|rk_|xox[abprs]-|gh[pousr]_|github_pat_)");

    /**
     * Where a secret that the normalised cut at {@code cut} would split starts (normalised), or -1: a private-key block
     * begun before the cut whose END line has not arrived before it, or a run of token characters across the cut that
     * holds a secret's start.
     */
    static int secretAcross(String t, int cut) {
        int block = t.lastIndexOf("-----BEGIN", cut - 1);
        if (block >= 0) {
            int close = t.indexOf("-----", block + "-----BEGIN".length());
            boolean privateKey = close < 0 || close > cut || t.substring(block, close).contains("PRIVATE KEY");
            int end = keyBlockEnd(t, block);
            if (privateKey && (end < 0 || end > cut)) {
                return block;
            }
        }
        if (cut <= 0 || cut >= t.length() || !tokenChar(t.charAt(cut - 1)) || !tokenChar(t.charAt(cut))) {
            return -1;
        }
        int from = cut;
        while (from > 0 && tokenChar(t.charAt(from - 1))) {
            from--;
        }
        java.util.regex.Matcher m = SECRET_START.matcher(t).region(from, cut).useTransparentBounds(true);
        return m.find() ? m.start() : -1; // the first: a JWT's header is part of it
    }

    private static boolean tokenChar(char c) {
        return c < 0x80 && (Character.isLetterOrDigit(c) || c == '_' || c == '-' || c == '.');
    }

    private String where() {
        return location == null ? "stream" : location;
    }

    /** The stream ended normally: masks and returns all that is held. */
    public String finish() {
        String text = pending.toString();
        return text.isEmpty() ? "" : release(text, text.length());
    }

    /**
     * Hands the held tail to {@code next}, where the text goes on (data of another kind that follows it in the stream):
     * returns it, unreleased (masked first when it holds an entity whole in itself), and {@code next} reads this
     * text's context before it.
     */
    String handOver(StreamingTextMasker next) {
        String held;
        if (pending.length() > 0 && !masker.engine().scan(pending.toString()).isEmpty()) {
            // an entity whole in itself (an address, a card): masked here, as final, so that joining it with what follows
            // (another event's text, which need not go on with it) cannot hide it
            held = finish();
        } else {
            held = pending.toString();
            pending.setLength(0);
        }
        if (next.pending.length() == 0) {
            next.context = context;
        }
        return held;
    }

    /**
     * The stream broke off: the held tail may be an entity cut in half, so it is dropped, never released. What it hid
     * is reported with the action {@value #DROP}: each entity found in it (read as final, with the context before it),
     * or, where none is, the tail itself as {@value #HELD_TEXT}.
     */
    public void abandon() {
        if (pending.length() > 0) {
            dropped(masker, context, pending.toString(), location == null ? "stream" : location, report);
        }
        pending.setLength(0);
    }

    /** The action reported for text that was held back and never released, because the stream broke off. */
    public static final String DROP = "drop";
    /** The entity type reported for held text dropped at a break-off in which no entity is found (half of one?). */
    public static final String HELD_TEXT = "HELD_TEXT";

    /**
     * Reports text dropped at a break-off (never its value): each entity found in it, read after {@code context}, with
     * the action {@value #DROP}; where none is found, one {@value #HELD_TEXT} entry. Blank text hides nothing.
     */
    static void dropped(Masker masker, String context, String text, String location, Consumer<Redaction> report) {
        if (text.isBlank()) {
            return;
        }
        String scanned = context + text;
        int offset = context.length();
        boolean found = false;
        for (Finding f : masker.engine().scanFrom(scanned, offset)) {
            if (f.end() > offset) {
                report.accept(new Redaction(f.entityType(), DROP, location, f.detector()));
                found = true;
            }
        }
        if (!found) {
            report.accept(new Redaction(HELD_TEXT, DROP, location, "stream-end"));
        }
    }

    /** How much is held back right now (for tests and metrics). */
    public int held() {
        return pending.length();
    }

    /** How much released text is kept as context for what follows (characters). */
    int contextLength() {
        return context.length();
    }

    private String release(String text, int safe) {
        String head = text.substring(0, safe);
        // detection also sees the end of what was already released: context words ("ssn: ..."), and the
        // characters just before an entity (an IPv4 address is not the end of a longer dotted run)
        String scanned = context + head;
        int offset = context.length();
        StringBuilder out = new StringBuilder(head.length());
        int at = offset;
        for (Finding f : masker.engine().scanFrom(scanned, offset)) {
            if (f.end() <= offset) {
                continue;
            }
            int s = Math.max(f.start(), offset);
            out.append(scanned, at, s);
            out.append(masker.replace(f, scanned.substring(f.start(), f.end()), location, report));
            at = f.end();
        }
        out.append(scanned, at, scanned.length());
        context = contextOf(scanned);
        pending.delete(0, safe);
        return out.toString();
    }

    /**
     * The end of the released text that detection needs to see again: at least {@link #CONTEXT} normalised
     * characters (more original ones if format characters were removed), never starting inside a surrogate pair.
     */
    static String contextOf(String released) {
        String tail = tailOf(released);
        int lineStart = released.lastIndexOf('\n') + 1;
        if (lineStart == released.length() && lineStart > 1) {
            // the last line is finished: the next one continues the same block
            lineStart = released.lastIndexOf('\n', lineStart - 2) + 1;
        }
        if (released.length() - lineStart > LINE_CONTEXT) {
            return tail;
        }
        // a value's label may head its column (table, CSV) or stand in the statement's column list (SQL): keep the
        // current line whole, and the header lines of its block
        String line = released.substring(lineStart);
        String header = ColumnContext.headerLines(released, lineStart);
        if (header.isEmpty() && !ColumnContext.headerLike(line.strip())
                && !line.toLowerCase(java.util.Locale.ROOT).contains("values")) {
            return tail;
        }
        return header + line;
    }

    /** At least {@link #CONTEXT} normalised characters of the end of the released text. */
    private static String tailOf(String released) {
        int k = Math.min(released.length(), 2 * CONTEXT);
        while (k < released.length() && Normalized.of(released.substring(released.length() - k)).text().length()
                < 2 * CONTEXT) {
            k = Math.min(released.length(), k * 2);
        }
        int from = released.length() - k;
        if (from > 0 && Character.isLowSurrogate(released.charAt(from))) {
            from--;
        }
        return released.substring(from);
    }

    /**
     * The length of the prefix that can no longer be part of an entity. Computed on the normalised text, so
     * that full-width and other Unicode forms of digits, plus signs, dashes, dots and spaces hold back exactly
     * as their ASCII forms do; a trailing high surrogate waits for its pair.
     */
    static int safeLength(String text) {
        int limit = text.length();
        if (limit > 0 && Character.isHighSurrogate(text.charAt(limit - 1))) {
            limit--;
        }
        String whole = limit == text.length() ? text : text.substring(0, limit);
        Normalized n = Normalized.of(whole);
        String t = n.text();
        int hold = overBreak(t, openTail(t));
        int keyBlock = t.lastIndexOf("-----BEGIN");
        if (keyBlock >= 0 && hold > keyBlock) {
            int blockEnd = keyBlockEnd(t, keyBlock);
            if (blockEnd < 0 || hold < blockEnd) {
                // an unterminated key block, or one whose END line is still in the held tail (it looks like a
                // run of upper-case groups): the detector matches only the whole block, so all of it waits
                hold = keyBlock;
            }
        }
        int safe = hold >= t.length() ? limit : n.originalStart(hold);
        int escape = openEscape(whole);
        if (escape < 0) {
            return safe;
        }
        // the escape is one character once whole: what comes before it holds as if that were a digit or a space
        String before = whole.substring(0, escape);
        return Math.min(Math.min(safe, escape), Math.min(safeLength(before + "0"), safeLength(before + " ")));
    }

    /**
     * A backslash-u escape cut short, an escaped high surrogate waiting for its pair, or an HTML character reference
     * that may still go on.
     */
    private static final java.util.regex.Pattern OPEN_ESCAPE = java.util.regex.Pattern.compile(
            "(\\\\u[dD][89abAB][0-9a-fA-F]{2})?\\\\(u[0-9a-fA-F]{0,3})?|\\\\u[dD][89abAB][0-9a-fA-F]{2}"
                    + "|&(#[xX]?[0-9a-fA-F]{0,7}|[a-zA-Z]{0,6})|%[0-9a-fA-F]?");

    /** A CSI control sequence that has not reached its final byte (see {@link Normalized#controlSequence}). */
    private static final java.util.regex.Pattern OPEN_CONTROL = java.util.regex.Pattern.compile(
            "\u001b(\\[[0-?]*[ -/]*)?");

    /**
     * Where an escape still open at the end starts (it is read as one character once whole, see {@link Normalized}),
     * or -1.
     */
    static int openEscape(String text) {
        int string = openString(text);
        if (string >= 0) {
            return string; // a terminal string (an OSC 8 hyperlink) not yet ended: removed for detection once whole
        }
        int esc = text.lastIndexOf('\u001b');
        if (esc >= 0 && text.length() - esc < Normalized.CONTROL_MAX && OPEN_CONTROL.matcher(text).region(esc,
                text.length()).matches()) {
            return esc; // a terminal's control sequence cut short: removed for detection once whole
        }
        for (int j = Math.max(0, text.length() - 12); j < text.length(); j++) {
            char c = text.charAt(j);
            if ((c == '\\' || c == '&' || c == '%') && OPEN_ESCAPE.matcher(text).region(j, text.length()).matches()) {
                return j;
            }
        }
        return -1;
    }

    /**
     * Where a terminal string ({@link Normalized#stringSequence}) that has not ended starts, within
     * {@link Normalized#STRING_MAX} of the end, or -1: the last ESC, BEL, CAN, SUB or C1 control there starts one.
     */
    static int openString(String text) {
        int from = Math.max(0, text.length() - Normalized.STRING_MAX);
        for (int j = text.length() - 1; j >= from; j--) {
            char c = text.charAt(j);
            if (c == 0x1B || c == 0x07 || c == 0x18 || c == 0x1A || (c >= 0x80 && c <= 0x9F)) {
                return Normalized.stringStart(text, j) > 0 ? j : -1;
            }
        }
        return -1;
    }

    /**
     * Where the key block starting at {@code begin} ends: just after the closing dashes of its END line
     * ({@code -----END ... -----}), or -1 while that line has not arrived whole.
     */
    static int keyBlockEnd(String t, int begin) {
        int beginClose = t.indexOf("-----", begin + "-----BEGIN".length());
        if (beginClose < 0) {
            return -1;
        }
        int end = t.indexOf("-----END", beginClose + 5);
        int close = end < 0 ? -1 : t.indexOf("-----", end + "-----END".length());
        return close < 0 ? -1 : close + 5;
    }

    /**
     * The start of the trailing run that could still grow into an entity: characters entities are made of
     * (letters, digits and . - _ @ + : / = ( ) %), and spaces between pieces of numbers or upper-case groups
     * (cards, SSNs, phones, IBANs are written with spaces). Works on normalised text.
     */
    static int openTail(String text) {
        int i = text.length();
        while (i > 0) {
            char c = text.charAt(i - 1);
            if (entityChar(c)) {
                i--;
                continue;
            }
            if (c == ' ' && i - 1 > 0 && groupBefore(text, i - 1)) {
                i--;
                continue;
            }
            break;
        }
        return i;
    }

    /**
     * Where the held tail starts when the run at {@code hold} may go on across a soft line break (see {@link SoftBreaks}):
     * when only blanks and one line break (not a blank line's) lie between the run before it and {@code hold}, and the
     * text after the break is the run or nothing yet, that run before it is held too (the break and what follows it may
     * join it into an entity). One break only: a value spans at most one. A trailing carriage return may be the first
     * half of CRLF; blanks at the very end may be followed by a break, so the word before them is held too where it may be
     * part of an entity ({@link #maySpanBreak}).
     */
    static int overBreak(String t, int hold) {
        int j = hold;
        while (j > 0 && (t.charAt(j - 1) == ' ' || t.charAt(j - 1) == '\t')) {
            j--;
        }
        if (j > 0 && j < hold && hold == t.length() && entityChar(t.charAt(j - 1))) {
            // the text ends in blanks after a word: a line break may follow them
            int before = openTail(t.substring(0, j));
            if (before == j || !maySpanBreak(t, before, j)) {
                return hold;
            }
            hold = before;
            j = hold;
            while (j > 0 && (t.charAt(j - 1) == ' ' || t.charAt(j - 1) == '\t')) {
                j--;
            }
        }
        if (j == 0 || !SoftBreaks.lineBreak(t.charAt(j - 1))) {
            return hold;
        }
        int bs = j - 1;
        if (t.charAt(bs) == '\n' && bs > 0 && t.charAt(bs - 1) == '\r') {
            bs--;
        }
        while (bs > 0 && (t.charAt(bs - 1) == ' ' || t.charAt(bs - 1) == '\t')) {
            bs--;
        }
        if (bs == 0 || !entityChar(t.charAt(bs - 1))) {
            return hold;
        }
        int before = openTail(t.substring(0, bs));
        return before < bs ? before : hold;
    }

    /**
     * Whether the word [s, e) before trailing blanks may be part of an entity that goes on after a line break: it holds a
     * digit or an '@', or a dot, underscore, plus, percent or dash inside it (an e-mail address's local part); a plain word
     * ({@code is}, {@code ok.}) is released at once.
     */
    private static boolean maySpanBreak(String t, int s, int e) {
        int last = e;
        while (last > s && t.charAt(last - 1) != ' ') {
            last--; // its last word only: a word after a number (4111 1111 ok.) is still a plain word
        }
        for (int i = last; i < e; i++) {
            char c = t.charAt(i);
            if ((c >= '0' && c <= '9') || c == '@' || (i < e - 1 && i > last && "._+%-".indexOf(c) >= 0)) {
                return true;
            }
        }
        return false;
    }

    private static boolean entityChar(char c) {
        return Character.isLetterOrDigit(c) || ".-_@+:/=()%".indexOf(c) >= 0;
    }

    /**
     * Whether the token before the space at {@code space} ends in a group of a number or an upper-case group:
     * its last run of letters and digits holds a digit or no lower-case letter. Only that last run counts, so a
     * group glued to a label ({@code pan=4111}, {@code card:4111}, {@code 番号：4111}, {@code (415)}) still holds
     * the space after it, as does a lower-case IBAN's first group ({@code de89}).
     */
    private static boolean groupBefore(String text, int space) {
        return groupBefore(text, space, LOWER_GROUPS);
    }

    /**
     * As above; and a short lower-case group with only a space before it ({@code ilhi} in
     * {@code bh47 ilhi amk9}, a lower-case IBAN) holds too while the groups before it lead, within {@code hops}
     * groups, back to a lower-case IBAN's country code and check digits.
     */
    private static boolean groupBefore(String text, int space, int hops) {
        int j = space;
        while (j > 0 && entityChar(text.charAt(j - 1))) {
            j--;
        }
        if (j == space) {
            return false;
        }
        int end = space;
        while (end > j && !Character.isLetterOrDigit(text.charAt(end - 1))) {
            end--;
        }
        int start = end;
        while (start > j && Character.isLetterOrDigit(text.charAt(start - 1))) {
            start--;
        }
        boolean lower = false;
        for (int k = start; k < end; k++) {
            char c = text.charAt(k);
            if (Character.isDigit(c)) {
                return true;
            }
            lower |= Character.isLowerCase(c);
        }
        return !lower || (start == j && end == space && space - j <= 4 && lowerIbanGroups(text, j, hops));
    }

    /**
     * Whether the groups before {@code j} (space-joined, of at most four letters or digits) lead within
     * {@code hops} groups back to the start of a lower-case IBAN: two letters and two digits ({@code bh47}).
     */
    private static boolean lowerIbanGroups(String text, int j, int hops) {
        int at = j;
        for (int h = 0; h < hops && at >= 2 && text.charAt(at - 1) == ' '; h++) {
            int k = at - 1;
            while (k > 0 && at - 1 - k < 5 && Character.isLetterOrDigit(text.charAt(k - 1))) {
                k--;
            }
            int len = at - 1 - k;
            if (len == 0 || len > 4) {
                return false;
            }
            if (len == 4 && Character.isLowerCase(text.charAt(k)) && Character.isLowerCase(text.charAt(k + 1))
                    && Character.isDigit(text.charAt(k + 2)) && Character.isDigit(text.charAt(k + 3))) {
                return true;
            }
            at = k;
        }
        return false;
    }
}
