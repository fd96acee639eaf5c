package attest.text;

/**
 * Text for a PostgreSQL text column: PostgreSQL refuses the NUL character (U+0000) in text, and a caller can put one
 * in anything JSON carries (a model's name, a prompt and so its preview); each is written as U+FFFD instead, so that
 * the row is kept rather than refused.
 */
public final class NulFree {
    private NulFree() {
    }

    /** The text with every NUL written as U+FFFD; null for null. */
    public static String of(String s) {
        return s == null || s.indexOf('\0') < 0 ? s : s.replace('\0', '\uFFFD');
    }
}
