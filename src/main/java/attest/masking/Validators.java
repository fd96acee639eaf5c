package attest.masking;

import java.math.BigInteger;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;

/** Checks that turn a pattern match into a finding. Each takes the matched (normalised) text. */
public final class Validators {
    private Validators() {
    }

    public static Predicate<String> byName(String name) {
        return switch (name) {
            case "none" -> s -> true;
            case "luhn" -> Validators::card;
            case "ssn" -> Validators::ssn;
            case "iban" -> Validators::iban;
            case "ipv4" -> Validators::ipv4;
            case "ipv6" -> Validators::ipv6;
            case "phone" -> Validators::phone;
            default -> throw new IllegalArgumentException("unknown validator '" + name + "' (known: none, luhn, ssn,"
                    + " iban, ipv4, ipv6, phone)");
        };
    }

    static String digits(String s) {
        StringBuilder sb = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c >= '0' && c <= '9') {
                sb.append(c);
            }
        }
        return sb.toString();
    }

    /** A payment card: 13 to 19 digits, one kind of separator at most, Luhn-valid, not all one digit. */
    /** Whether the text is written with spaces or with dashes, not with both. */
    static boolean oneSeparatorKind(String s) {
        return s.indexOf(' ') < 0 || s.indexOf('-') < 0;
    }

    public static boolean card(String s) {
        if (!oneSeparatorKind(s)) {
            return false;
        }
        String d = digits(s);
        if (d.length() < 13 || d.length() > 19 || d.chars().distinct().count() == 1) {
            return false;
        }
        return luhn(d);
    }

    public static boolean luhn(String digits) {
        int sum = 0;
        boolean dbl = false;
        for (int i = digits.length() - 1; i >= 0; i--) {
            int n = digits.charAt(i) - '0';
            if (dbl) {
                n *= 2;
                if (n > 9) {
                    n -= 9;
                }
            }
            sum += n;
            dbl = !dbl;
        }
        return sum % 10 == 0;
    }

    private static final Set<String> SSN_SAMPLES = Set.of("078051120", "219099999", "123456789", "457555462");

    /** A US SSN as Presidio judges it: one kind of delimiter, valid area, group and serial, not a known sample. */
    public static boolean ssn(String s) {
        if (!oneSeparatorKind(s)) {
            return false;
        }
        String d = digits(s);
        if (d.length() != 9 || d.chars().distinct().count() == 1 || SSN_SAMPLES.contains(d)) {
            return false;
        }
        String area = d.substring(0, 3);
        return !area.equals("000") && !area.equals("666") && area.charAt(0) != '9'
                && !d.substring(3, 5).equals("00") && !d.substring(5).equals("0000");
    }

    private static final Map<String, Integer> IBAN_LENGTHS = Map.ofEntries(
            Map.entry("AD", 24), Map.entry("AE", 23), Map.entry("AT", 20), Map.entry("BE", 16), Map.entry("BG", 22),
            Map.entry("CH", 21), Map.entry("CY", 28), Map.entry("CZ", 24), Map.entry("DE", 22), Map.entry("DK", 18),
            Map.entry("EE", 20), Map.entry("ES", 24), Map.entry("FI", 18), Map.entry("FR", 27), Map.entry("GB", 22),
            Map.entry("GR", 27), Map.entry("HR", 21), Map.entry("HU", 28), Map.entry("IE", 22), Map.entry("IS", 26),
            Map.entry("IT", 27), Map.entry("LI", 21), Map.entry("LT", 20), Map.entry("LU", 20), Map.entry("LV", 21),
            Map.entry("MC", 27), Map.entry("MT", 31), Map.entry("NL", 18), Map.entry("NO", 15), Map.entry("PL", 28),
            Map.entry("PT", 25), Map.entry("RO", 24), Map.entry("SA", 24), Map.entry("SE", 24), Map.entry("SI", 19),
            Map.entry("SK", 24), Map.entry("SM", 27), Map.entry("TR", 26), Map.entry("UA", 29), Map.entry("BR", 29),
            Map.entry("IL", 23), Map.entry("QA", 29), Map.entry("KW", 30), Map.entry("JO", 30), Map.entry("MU", 30));

    /** An IBAN: known country length and the ISO 13616 mod-97 check. */
    public static boolean iban(String s) {
        String iban = s.replace(" ", "").toUpperCase();
        Integer len = IBAN_LENGTHS.get(iban.length() >= 2 ? iban.substring(0, 2) : "");
        if (len == null || iban.length() != len) {
            return false;
        }
        String rearranged = iban.substring(4) + iban.substring(0, 4);
        StringBuilder num = new StringBuilder();
        for (char c : rearranged.toCharArray()) {
            if (Character.isDigit(c)) {
                num.append(c);
            } else if (c >= 'A' && c <= 'Z') {
                num.append(c - 'A' + 10);
            } else {
                return false;
            }
        }
        return new BigInteger(num.toString()).mod(BigInteger.valueOf(97)).intValue() == 1;
    }

    public static boolean ipv4(String s) {
        String[] parts = s.split("\\.");
        if (parts.length != 4) {
            return false;
        }
        for (String p : parts) {
            if (p.isEmpty() || p.length() > 3 || (p.length() > 1 && p.charAt(0) == '0')) {
                return false;
            }
            if (Integer.parseInt(p) > 255) {
                return false;
            }
        }
        return true;
    }

    public static boolean ipv6(String s) {
        String addr = s;
        int dbl = addr.indexOf("::");
        if (dbl >= 0 && addr.indexOf("::", dbl + 1) >= 0) {
            return false;
        }
        String[] groups = addr.split(":", -1);
        int nonEmpty = 0;
        for (int i = 0; i < groups.length; i++) {
            String g = groups[i];
            if (g.isEmpty()) {
                continue;
            }
            if (i == groups.length - 1 && g.contains(".")) {
                if (!ipv4(g)) {
                    return false;
                }
                nonEmpty += 2;
                continue;
            }
            if (g.length() > 4 || !g.chars().allMatch(c -> Character.digit(c, 16) >= 0)) {
                return false;
            }
            nonEmpty++;
        }
        return dbl >= 0 ? nonEmpty <= 7 && nonEmpty >= 1 : nonEmpty == 8;
    }

    /** A phone number: 8 to 15 digits, written with a + or with separators (a bare digit run is not a phone). */
    public static boolean phone(String s) {
        String d = digits(s);
        boolean formatted = s.startsWith("+") || s.indexOf(' ') > 0 || s.indexOf('-') > 0 || s.indexOf('.') > 0
                || s.indexOf('(') >= 0;
        return formatted && d.length() >= 8 && d.length() <= 15 && d.chars().distinct().count() > 2;
    }
}
