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
            case "luhn" -> Validators::luhnNumber;
            case "card" -> Validators::card;
            case "ssn" -> Validators::ssn;
            case "iban" -> Validators::iban;
            case "ipv4" -> Validators::ipv4;
            case "ipv6" -> Validators::ipv6;
            case "phone" -> Validators::phone;
            case "nanp" -> Validators::nanp;
            case "phone-national" -> Validators::phoneNational;
            case "email" -> Validators::email;
            case "phone-bare" -> Validators::phoneBare;
            default -> throw new IllegalArgumentException("unknown validator '" + name + "' (known: none, luhn, card,"
                    + " ssn, iban, ipv4, ipv6, phone, nanp, phone-national, phone-bare, email)");
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

    /** Whether the text uses at most one kind of separator (space, dash or dot). */
    static boolean oneSeparatorKind(String s) {
        int kinds = (s.indexOf(' ') >= 0 ? 1 : 0) + (s.indexOf('-') >= 0 ? 1 : 0) + (s.indexOf('.') >= 0 ? 1 : 0);
        return kinds <= 1;
    }

    /** A Luhn-valid number of 13 to 19 digits, one kind of separator, not all one digit (the "luhn" validator). */
    public static boolean luhnNumber(String s) {
        if (!oneSeparatorKind(s)) {
            return false;
        }
        String d = digits(s);
        if (d.length() < 13 || d.length() > 19 || d.chars().distinct().count() == 1) {
            return false;
        }
        return luhn(d);
    }

    /**
     * A payment card: a length that its network issues for its prefix (see {@link #cardNetwork}), Luhn-valid,
     * written plain or in groups (see {@link #cardGroups}) with one kind of separator, not all one digit.
     */
    public static boolean card(String s) {
        if (!oneSeparatorKind(s)) {
            return false;
        }
        if (!cardGroups(s)) {
            return false;
        }
        String d = digits(s);
        if (d.chars().distinct().count() == 1) {
            return false;
        }
        return cardNetwork(d) != null && luhn(d);
    }

    /**
     * Whether a card's digit groups are ones that cards are written in: no separator; or groups of 3 to 8
     * digits (4-4-4-4, 4-6-5, 4-6-4, 4-4-5, 4-4-4-4-3, ...); or groups of 4 with a shorter last group
     * (4-4-4-1). A run of single digits ("1 2 3 4 ...") is not a card.
     */
    static boolean cardGroups(String s) {
        int groups = 0;
        boolean allMid = true;
        boolean allFours = true;
        int group = 0;
        for (int i = 0; i <= s.length(); i++) {
            if (i < s.length() && s.charAt(i) >= '0' && s.charAt(i) <= '9') {
                group++;
                continue;
            }
            if (i == s.length() && groups == 0) {
                return true; // written without separators
            }
            boolean last = i == s.length();
            allMid &= group >= 3 && group <= 8;
            if (!last) {
                allFours &= group == 4;
            } else {
                allFours &= group >= 1 && group <= 4;
            }
            groups++;
            group = 0;
        }
        return allMid || allFours;
    }

    /**
     * The card network that issues numbers with this prefix and length, or null. Prefixes and lengths:
     * Visa 4 (13, 16, 19); Mastercard 51-55 and 2221-2720 (16); American Express 34, 37 (15); Discover 6011,
     * 644-649, 65 and 622126-622925 (16-19); JCB 3528-3589 (16-19); Diners Club 36, 38, 39, 300-305, 3095
     * (14-16); UnionPay 62 (16-19); Maestro 5018, 5020, 5038, 5893, 6304, 6759, 6761-6763 (16-19);
     * Mir 2200-2204 (16-19). No network issues 13-digit numbers starting with 1 (epoch milliseconds).
     */
    public static String cardNetwork(String d) {
        int n = d.length();
        if (n < 13 || n > 19) {
            return null;
        }
        int p1 = d.charAt(0) - '0';
        int p2 = Integer.parseInt(d.substring(0, 2));
        int p3 = Integer.parseInt(d.substring(0, 3));
        int p4 = Integer.parseInt(d.substring(0, 4));
        int p6 = Integer.parseInt(d.substring(0, 6));
        boolean to19 = n >= 16;
        if (p1 == 4) {
            return n == 13 || n == 16 || n == 19 ? "visa" : null;
        }
        if ((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720)) {
            return n == 16 ? "mastercard" : null;
        }
        if (p2 == 34 || p2 == 37) {
            return n == 15 ? "amex" : null;
        }
        if (p4 >= 2200 && p4 <= 2204) {
            return to19 ? "mir" : null;
        }
        if (p4 == 6011 || (p3 >= 644 && p3 <= 649) || p2 == 65 || (p6 >= 622126 && p6 <= 622925)) {
            return to19 ? "discover" : null;
        }
        if (p4 >= 3528 && p4 <= 3589) {
            return to19 ? "jcb" : null;
        }
        if (p2 == 36 || p2 == 38 || p2 == 39 || (p3 >= 300 && p3 <= 305) || p4 == 3095) {
            return n >= 14 && n <= 16 ? "diners" : null;
        }
        if (p2 == 62) {
            return to19 ? "unionpay" : null;
        }
        if (p4 == 5018 || p4 == 5020 || p4 == 5038 || p4 == 5893 || p4 == 6304 || p4 == 6759
                || (p4 >= 6761 && p4 <= 6763)) {
            return to19 ? "maestro" : null;
        }
        return null;
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

    /** IBAN lengths of every country in the SWIFT IBAN registry (ISO 13616), release 2024/2025. */
    static final Map<String, Integer> IBAN_LENGTHS = Map.ofEntries(
            Map.entry("AD", 24), Map.entry("AE", 23), Map.entry("AL", 28), Map.entry("AT", 20), Map.entry("AZ", 28),
            Map.entry("BA", 20), Map.entry("BE", 16), Map.entry("BG", 22), Map.entry("BH", 22), Map.entry("BI", 27),
            Map.entry("BR", 29), Map.entry("BY", 28), Map.entry("CH", 21), Map.entry("CR", 22), Map.entry("CY", 28),
            Map.entry("CZ", 24), Map.entry("DE", 22), Map.entry("DJ", 27), Map.entry("DK", 18), Map.entry("DO", 28),
            Map.entry("EE", 20), Map.entry("EG", 29), Map.entry("ES", 24), Map.entry("FI", 18), Map.entry("FK", 18),
            Map.entry("FO", 18), Map.entry("FR", 27), Map.entry("GB", 22), Map.entry("GE", 22), Map.entry("GI", 23),
            Map.entry("GL", 18), Map.entry("GR", 27), Map.entry("GT", 28), Map.entry("HN", 28), Map.entry("HR", 21),
            Map.entry("HU", 28), Map.entry("IE", 22), Map.entry("IL", 23), Map.entry("IQ", 23), Map.entry("IS", 26),
            Map.entry("IT", 27), Map.entry("JO", 30), Map.entry("KW", 30), Map.entry("KZ", 20), Map.entry("LB", 28),
            Map.entry("LC", 32), Map.entry("LI", 21), Map.entry("LT", 20), Map.entry("LU", 20), Map.entry("LV", 21),
            Map.entry("LY", 25), Map.entry("MC", 27), Map.entry("MD", 24), Map.entry("ME", 22), Map.entry("MK", 19),
            Map.entry("MN", 20), Map.entry("MR", 27), Map.entry("MT", 31), Map.entry("MU", 30), Map.entry("NI", 28),
            Map.entry("NL", 18), Map.entry("NO", 15), Map.entry("OM", 23), Map.entry("PK", 24), Map.entry("PL", 28),
            Map.entry("PS", 29), Map.entry("PT", 25), Map.entry("QA", 29), Map.entry("RO", 24), Map.entry("RS", 22),
            Map.entry("RU", 33), Map.entry("SA", 24), Map.entry("SC", 31), Map.entry("SD", 18), Map.entry("SE", 24),
            Map.entry("SI", 19), Map.entry("SK", 24), Map.entry("SM", 27), Map.entry("SO", 23), Map.entry("ST", 25),
            Map.entry("SV", 28), Map.entry("TL", 23), Map.entry("TN", 24), Map.entry("TR", 26), Map.entry("UA", 29),
            Map.entry("VA", 22), Map.entry("VG", 24), Map.entry("XK", 20), Map.entry("YE", 30));

    /** An IBAN: known country length and the ISO 13616 mod-97 check. */
    public static boolean iban(String s) {
        String iban = s.replace(" ", "").replace("-", "").toUpperCase(java.util.Locale.ROOT);
        Integer len = IBAN_LENGTHS.get(iban.length() >= 2 ? iban.substring(0, 2) : "");
        if (len == null || iban.length() != len) {
            return false;
        }
        String rearranged = iban.substring(4) + iban.substring(0, 4);
        StringBuilder num = new StringBuilder();
        for (char c : rearranged.toCharArray()) {
            if (c >= '0' && c <= '9') {
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

    /**
     * A phone number: 8 to 15 digits, written with a + or with separators (a bare digit run is not a phone);
     * a +1 number is a North American one (see {@link #nanp}).
     */
    public static boolean phone(String s) {
        String d = digits(s);
        boolean formatted = s.startsWith("+") || s.indexOf(' ') > 0 || s.indexOf('-') > 0 || s.indexOf('.') > 0
                || s.indexOf('(') >= 0;
        if (!formatted || d.length() < 8 || d.length() > 15 || d.chars().distinct().count() <= 2) {
            return false;
        }
        return !s.startsWith("+1") || nanp(s);
    }

    /**
     * A North American (NANP) number: ten digits, or eleven starting with the country code 1; area code and
     * exchange both start with 2 to 9 (serials such as 123-456-7890 are not phones).
     */
    public static boolean nanp(String s) {
        String d = digits(s);
        if (d.length() == 11 && d.charAt(0) == '1') {
            d = d.substring(1);
        }
        if (d.length() != 10 || d.chars().distinct().count() <= 2) {
            return false;
        }
        return d.charAt(0) >= '2' && d.charAt(3) >= '2';
    }

    /**
     * National phone formats as numbering plans write them (after normalisation): a trunk prefix 0 and groups
     * joined by one kind of separator (space: UK {@code 07449 217990}, DE {@code 030 11263419}, FR
     * {@code 01 34 24 25 22}; dash: JP {@code 03-4202-2431}, NL {@code 06-25311659}; slash: DE
     * {@code 030/99207200}; dots only in the French pairs {@code 04.23.82.13.23}); a trunk area code in brackets
     * (AU {@code (02) 5386 3305}); a two-digit area code in brackets (BR {@code (21) 91383-6100}); the Russian
     * trunk 8 ({@code 8 (918) 163-22-36}); and the international prefix 00 with a country code
     * ({@code 0049 30 11441061}).
     */
    static final String NATIONAL_PHONE = "(?:\\b0[1-9]\\d{0,4}(?: \\d{2,8}){1,4}|\\b0[1-9]\\d{0,4}(?:-\\d{2,8}){1,4}"
            + "|\\b0[1-9]\\d{1,4}/\\d{3,9}|\\b0[1-9](?:\\.\\d{2}){4}|\\(0\\d{1,4}\\) ?\\d{2,5}(?:[ -]\\d{2,5}){0,2}"
            + "|\\(\\d{2}\\)[ -]?\\d{4,5}-\\d{4}|\\b8[ -]?\\(\\d{3}\\)[ -]?\\d{3}-\\d{2}-\\d{2}"
            + "|\\b00[1-9]\\d{0,2}(?: \\d{1,8}){2,4}|\\b00[1-9]\\d{0,2}(?:-\\d{1,8}){2,4})\\b";
    private static final com.google.re2j.Pattern NATIONAL_SHAPE = com.google.re2j.Pattern.compile(NATIONAL_PHONE);

    /**
     * A phone number in a national format ({@link #NATIONAL_PHONE}, the whole text): 10 to 12 digits with the
     * trunk prefix (a national significant number of 9 to 11), 11 to 15 after the international prefix 00, not
     * made of one or two distinct digits. Dates, versions, ISBNs and 9-digit SSN shapes are too short or start
     * otherwise.
     */
    public static boolean phoneNational(String s) {
        if (!NATIONAL_SHAPE.matches(s)) {
            return false;
        }
        String d = digits(s);
        if (d.chars().distinct().count() <= 2) {
            return false;
        }
        int n = d.length();
        return d.startsWith("00") ? n >= 11 && n <= 15 : n >= 10 && n <= 12;
    }

    /**
     * A phone number written as a bare digit run (only with a context word, see BuiltInDetectors): 10 to 12
     * digits with the trunk prefix 0, 11 to 15 with the international prefix 00, 11 digits of a Chinese mobile
     * ({@code 13812345678}), a North American number with its country code 1, a Russian number with its trunk 8
     * ({@code 89161234567}) or a Brazilian area code and mobile ({@code 11987654321}), or a North American number
     * of 10 digits (area code and exchange start with 2 to 9).
     */
    public static boolean phoneBare(String s) {
        String d = digits(s);
        if (d.length() != s.length() || d.chars().distinct().count() <= 2) {
            return false;
        }
        int n = d.length();
        char first = d.charAt(0);
        if (first == '0') {
            return d.charAt(1) == '0' ? n >= 11 && n <= 15 && d.charAt(2) != '0' : n >= 10 && n <= 12;
        }
        if (n == 11) {
            // China 1[3-9]..., the trunk 8 of Russia with a geographic or mobile code, Brazil's area code and a mobile
            // starting with 9, a North American number with its country code 1
            return first == '1' || (first == '8' && "3489".indexOf(d.charAt(1)) >= 0) || d.charAt(2) == '9';
        }
        return n == 10 && nanp(d);
    }

    /** An image's pixel-density variant ({@code logo@2x.png}, {@code banner@1.5x.jpg}): a file name, not an address. */
    private static final com.google.re2j.Pattern IMAGE_VARIANT = com.google.re2j.Pattern.compile(
            "(?i)\\d+(?:\\.\\d+)?x\\.(?:png|jpe?g|gif|webp|svg|avif|ico|bmp)");

    /** An e-mail address as the pattern found it, unless it is an image file's density variant. */
    public static boolean email(String s) {
        return !IMAGE_VARIANT.matches(s.substring(s.lastIndexOf('@') + 1));
    }
}
