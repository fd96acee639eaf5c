package attest.masking;

/**
 * Finds IBAN candidates without a regular expression, in one pass: a country code of the SWIFT IBAN registry and
 * two check digits, then exactly as many letters and digits as that country's IBAN has, written electronically
 * ({@code DE89370400440532013000}) or grouped with one kind of separator, a space or a dash (printed form, any
 * Unicode space or dash after normalisation), all in upper case or all in lower case. The length comes from the
 * registry, so an IBAN followed by a BIC, a currency or another group ends where its country says it ends; mod 97
 * is checked by the validator.
 */
final class IbanFinder implements Detector.Finder {
    private static boolean upper(char c) {
        return c >= 'A' && c <= 'Z';
    }

    private static boolean lower(char c) {
        return c >= 'a' && c <= 'z';
    }

    private static boolean digit(char c) {
        return c >= '0' && c <= '9';
    }

    @Override
    public long next(String text, int from, int to, Detector.SpanCheck accepted) {
        for (int i = from; i + 4 <= to; i++) {
            char a = text.charAt(i);
            char b = text.charAt(i + 1);
            boolean up = upper(a) && upper(b);
            if (!(up || (lower(a) && lower(b))) || !digit(text.charAt(i + 2)) || !digit(text.charAt(i + 3))) {
                continue;
            }
            Integer len = Validators.IBAN_LENGTHS.get(up ? text.substring(i, i + 2)
                    : text.substring(i, i + 2).toUpperCase(java.util.Locale.ROOT));
            if (len == null) {
                continue;
            }
            int end = end(text, i, to, len, up);
            if (end > 0 && accepted.test(text, i, end)) {
                return ((long) i << 32) | end;
            }
        }
        return -1;
    }

    /** The end of the {@code len} characters of an IBAN starting at {@code s}, or -1 if they are not there. */
    private static int end(String t, int s, int to, int len, boolean up) {
        int n = 0;
        int j = s;
        char sep = 0;
        while (j < to && n < len) {
            char c = t.charAt(j);
            if (digit(c) || (up ? upper(c) : lower(c))) {
                n++;
                j++;
                continue;
            }
            if ((c == ' ' || c == '-') && n >= 2 && (sep == 0 || sep == c) && j + 1 < to
                    && Character.isLetterOrDigit(t.charAt(j + 1))) {
                sep = c;
                j++;
                continue;
            }
            return -1;
        }
        if (n < len) {
            return -1;
        }
        // a dash-joined run that goes on is something else (a reference, a UUID-like id)
        if (sep == '-' && j + 1 < t.length() && t.charAt(j) == '-' && Character.isLetterOrDigit(t.charAt(j + 1))) {
            return -1;
        }
        return j;
    }
}
