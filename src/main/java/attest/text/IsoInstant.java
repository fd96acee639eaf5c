package attest.text;

import java.time.Instant;

/**
 * {@link Instant#toString()} (ISO-8601, UTC, the fraction in groups of three digits as needed), written without
 * {@code DateTimeFormatter}: every call's evidence writes five or six of these on its path (the chain entries and the
 * Kafka event), and the formatter's general machinery was a measurable part of a call's CPU. Years outside
 * 1970..9999 are left to {@link Instant#toString()} itself; {@code IsoInstantTest} checks every other instant it
 * draws against it.
 */
public final class IsoInstant {
    /** 1970-01-01 to 9999-12-31T23:59:59.999999999Z, in epoch seconds. */
    private static final long MAX_SECOND = 253_402_300_799L;

    private IsoInstant() {
    }

    /** The text {@link Instant#toString()} gives; null for null. */
    public static String of(Instant t) {
        if (t == null) {
            return null;
        }
        long s = t.getEpochSecond();
        if (s < 0 || s > MAX_SECOND) {
            return t.toString();
        }
        long days = s / 86_400;
        int secs = (int) (s % 86_400);
        // civil from days (Howard Hinnant's algorithm), for days since 1970-01-01
        long z = days + 719_468;
        long era = z / 146_097;
        long doe = z - era * 146_097;
        long yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        long y = yoe + era * 400;
        long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        long mp = (5 * doy + 2) / 153;
        int d = (int) (doy - (153 * mp + 2) / 5 + 1);
        int m = (int) (mp < 10 ? mp + 3 : mp - 9);
        if (m <= 2) {
            y++;
        }
        int nano = t.getNano();
        byte[] b = new byte[30];
        int i = 0;
        i = digits(b, i, (int) y, 4);
        b[i++] = '-';
        i = digits(b, i, m, 2);
        b[i++] = '-';
        i = digits(b, i, d, 2);
        b[i++] = 'T';
        i = digits(b, i, secs / 3600, 2);
        b[i++] = ':';
        i = digits(b, i, secs / 60 % 60, 2);
        b[i++] = ':';
        i = digits(b, i, secs % 60, 2);
        if (nano != 0) {
            b[i++] = '.';
            if (nano % 1_000_000 == 0) {
                i = digits(b, i, nano / 1_000_000, 3);
            } else if (nano % 1000 == 0) {
                i = digits(b, i, nano / 1000, 6);
            } else {
                i = digits(b, i, nano, 9);
            }
        }
        b[i++] = 'Z';
        return new String(b, 0, i, java.nio.charset.StandardCharsets.ISO_8859_1);
    }

    private static int digits(byte[] b, int at, int v, int width) {
        for (int k = at + width - 1; k >= at; k--) {
            b[k] = (byte) ('0' + v % 10);
            v /= 10;
        }
        return at + width;
    }
}
