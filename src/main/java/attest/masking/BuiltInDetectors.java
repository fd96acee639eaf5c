package attest.masking;

import com.google.re2j.Pattern;

import java.util.List;

/** The detectors that ship with Attest. Every pattern is RE2 (linear time, no backtracking). */
public final class BuiltInDetectors {
    private BuiltInDetectors() {
    }

    private static Detector d(String name, String type, String regex, String validator, double score,
                              List<String> context, double threshold) {
        Trigger trigger = switch (type) {
            case "CARD", "SSN", "PHONE" -> Trigger.NUMERIC;
            case "IBAN" -> Trigger.ALL;
            case "EMAIL" -> Trigger.AT_SIGN;
            case "SECRET" -> Trigger.SECRET_PREFIX;
            default -> name.equals("ipv6") ? Trigger.HEX_COLON : Trigger.NUMERIC;
        };
        int minCount = switch (name) {
            case "card" -> 13;
            case "ssn", "ssn-bare" -> 9;
            case "phone-nanp" -> 10;
            case "phone-e164" -> 8;
            case "phone-national" -> 9;
            case "phone-trunk", "phone-bare" -> 10;
            case "ipv6" -> 2;
            default -> trigger == Trigger.NUMERIC ? 4 : 0;
        };
        Detector.SpanCheck around = switch (name) {
            case "ipv4" -> BuiltInDetectors::wholeDottedQuad;
            case "ipv6" -> BuiltInDetectors::wholeHexColonRun;
            case "phone-nanp" -> (t, st, en) -> notInNumberRun(t, st, en, "-.");
            case "phone-trunk", "phone-national" -> (t, st, en) -> notInNumberRun(t, st, en, name.equals("phone-trunk")
                    ? " -./" : " -.") && !afterIbanHead(t, st);
            case "phone-bare" -> (t, st, en) -> notInNumberRun(t, st, en, "-./");
            default -> Detector.SpanCheck.ANY;
        };
        return new Detector(name, type, Pattern.compile(regex), Validators.byName(validator), score,
                Detector.lower(context), threshold, trigger, minCount, name.equals("phone-e164") ? 1 : 0,
                name.equals("ipv4") ? 3 : 0, name.equals("ssn-bare") ? 9 : name.equals("phone-bare") ? 10 : 0,
                Integer.MAX_VALUE, around, name.equals("phone-trunk"), switch (name) {
                    case "card" -> new CardFinder();
                    case "iban" -> new IbanFinder();
                    default -> null;
                });
    }

    private static boolean digit(char c) {
        return c >= '0' && c <= '9';
    }

    private static boolean hex(char c) {
        return digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    }

    /**
     * Whether the text before {@code s} is the start of an IBAN written in groups: up to nine space-joined groups of
     * four letters (all of one case) or digits, the first of them a country code and two check digits
     * ({@code DE29 5261 ...}, {@code NL10 IXNK 0603 ...}); a word or a shorter group ends the IBAN. A card or a phone number is not cut out of such a run (an IBAN with a wrong check
     * is a mistyped IBAN, not a card).
     */
    static boolean afterIbanHead(String t, int s) {
        int j = s;
        boolean lower = false;
        boolean upper = false;
        for (int hops = 0; hops < 9 && j >= 5 && t.charAt(j - 1) == ' '; hops++) {
            int k = j - 5;
            if (k > 0 && Character.isLetterOrDigit(t.charAt(k - 1))) {
                return false;
            }
            for (int i = k; i < j - 1; i++) {
                char c = t.charAt(i);
                if (!(digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))) {
                    return false;
                }
                lower |= c >= 'a' && c <= 'z';
                upper |= c >= 'A' && c <= 'Z';
            }
            if (lower && upper) {
                return false;
            }
            char a = t.charAt(k);
            char b = t.charAt(k + 1);
            if (Character.isLetter(a) && Character.isLetter(b) && digit(t.charAt(k + 2)) && digit(t.charAt(k + 3))) {
                return true;
            }
            j = k;
        }
        return false;
    }

    /**
     * An IPv4 address is a whole dotted quad: not preceded by a digit or by a dot that continues a run
     * ({@code 10.1.2.3.4}, {@code v1.2.3.4.5}), not followed by a digit or by a dot that continues it
     * ({@code 1.2.3.4.5}, {@code 1.2.3.4.x}). A dot followed by a space or the end is the sentence's.
     */
    static boolean wholeDottedQuad(String t, int s, int e) {
        if (s > 0) {
            char p = t.charAt(s - 1);
            if (digit(p) || (p == '.' && s > 1 && Character.isLetterOrDigit(t.charAt(s - 2)))) {
                return false;
            }
        }
        if (e < t.length()) {
            char n = t.charAt(e);
            return !(digit(n) || (n == '.' && e + 1 < t.length() && Character.isLetterOrDigit(t.charAt(e + 1))));
        }
        return true;
    }

    /**
     * Not cut out of a longer run of numbers joined by one of {@code joiners} (a phone inside a card, a UUID or
     * a dotted serial).
     */
    static boolean notInNumberRun(String t, int s, int e, String joiners) {
        if (s >= 2 && joiners.indexOf(t.charAt(s - 1)) >= 0 && digit(t.charAt(s - 2))) {
            return false;
        }
        return !(e + 1 < t.length() && joiners.indexOf(t.charAt(e)) >= 0 && digit(t.charAt(e + 1)));
    }

    /**
     * An IPv6 address is a whole hex-colon run: not preceded by a letter, digit, colon or dot ({@code Foo::ab},
     * a tenth group), not followed by a letter or digit, a colon and a hex digit, or a dot and a digit.
     */
    static boolean wholeHexColonRun(String t, int s, int e) {
        if (s > 0) {
            char p = t.charAt(s - 1);
            // a colon after a label ("IP:2001:db8::1", a full-width colon after CJK text) is not part of the run
            boolean runColon = p == ':' && s > 1 && (hex(t.charAt(s - 2)) || t.charAt(s - 2) == ':');
            if ((Character.isLetterOrDigit(p) && !Detector.cjk(p)) || runColon || p == '.') {
                return false;
            }
        }
        if (e < t.length()) {
            char n = t.charAt(e);
            boolean more = e + 1 < t.length();
            return !((Character.isLetterOrDigit(n) && !Detector.cjk(n))
                    || (n == ':' && more && hex(t.charAt(e + 1)))
                    || (n == '.' && more && digit(t.charAt(e + 1))));
        }
        return true;
    }

    /** Context words of SSNs (lower case), also looked for in the head of a value's column. */
    static final List<String> SSN_WORDS = List.of("ssn", "social security", "social-security", "social_security",
            "socialsecurity", "社会保障", "社会安全", "社會安全");

    /**
     * Context words of phone numbers, in the languages answers come in (lower case); a bare digit run is a phone
     * only after one of them, or under a column headed by one.
     */
    static final List<String> PHONE_WORDS = List.of("phone", "call", "tel", "mobile", "cell", "fax", "sms",
            "whatsapp", "mobil", "handy", "rufnummer", "fernsprech", "portable", "téléphone", "teléfono", "telefono",
            "móvil", "movil", "celular", "tél", "erreichen", "erreichbar", "reach", "contact", "kontakt",
            "contacto", "joindre", "appel", "llam", "ligar", "телефон", "тел.", "моб", "電話", "携帯", "手机", "电话", "手機", "電話番号",
            "연락처", "전화");

    public static List<Detector> all() {
        return List.of(
                d("card", "CARD", "\\b\\d(?:[ .-]?\\d){12,18}\\b", "card", 0.9,
                        List.of("card", "visa", "mastercard", "amex", "credit", "debit"), 0.5),
                d("ssn", "SSN", "\\b\\d{3}[ .-]\\d{2}[ .-]\\d{4}\\b", "ssn", 0.85, SSN_WORDS, 0.5),
                d("ssn-bare", "SSN", "\\b\\d{9}\\b", "ssn", 0.3, SSN_WORDS, 0.5),
                // found by IbanFinder (registry length, upper or lower case, spaces or dashes); the pattern is unused
                d("iban", "IBAN", "(?i)\\b[A-Z]{2}\\d{2}(?:[ -]?[A-Z0-9]){11,30}\\b", "iban", 0.95, List.of("iban"), 0.5),
                // RFC 6531: local parts and domains in any script (jürgen@köln-messe.example, почта.рф, 例え.jp);
                // hiragana and katakana are left out of the local part, so a Japanese label glued to it is not taken
                d("email", "EMAIL", "(?i:mailto:)?[\\p{Latin}\\p{Greek}\\p{Cyrillic}\\p{Han}\\p{Hangul}\\p{Arabic}\\p{Hebrew}"
                        + "\\p{Devanagari}\\p{Thai}\\p{M}\\p{N}._%+\\-]{1,64}@[\\p{L}\\p{M}\\p{N}\\-]{1,63}"
                        + "(?:\\.[\\p{L}\\p{M}\\p{N}\\-]{1,63})*\\.(?:xn--[A-Za-z0-9\\-]{1,59}|[\\p{L}\\p{M}]{2,24})",
                        "email", 0.9, List.of(), 0.5),
                d("phone-nanp", "PHONE", "(?:\\+1[ .-]?|\\b1[ .-])?(?:\\(\\d{3}\\)[ .-]?|\\b\\d{3}[ .-])\\d{3}[ .-]\\d{4}\\b",
                        "nanp", 0.75, PHONE_WORDS, 0.5),
                d("phone-e164", "PHONE", "\\+[1-9](?:[ .-]?\\d){7,14}\\b", "phone", 0.8, PHONE_WORDS, 0.5),
                d("phone-national", "PHONE", "\\b0\\d{2,4}[ -]\\d{3,4}[ -]\\d{3,4}\\b", "phone", 0.6, PHONE_WORDS, 0.5),
                d("phone-trunk", "PHONE", Validators.NATIONAL_PHONE, "phone-national", 0.6, PHONE_WORDS, 0.5),
                d("phone-bare", "PHONE", "\\b(?:0[1-9]\\d{8,10}|00[1-9]\\d{8,13}|[1-9]\\d{9,10})\\b", "phone-bare", 0.3,
                        PHONE_WORDS, 0.5),
                d("ipv4", "IP_ADDRESS", "\\b(?:\\d{1,3}\\.){3}\\d{1,3}\\b", "ipv4", 0.8, List.of("ip"), 0.5),
                d("ipv6", "IP_ADDRESS", "(?i)(?:::|[0-9a-f]{1,4}:[0-9a-f]{0,4}:)(?:[0-9a-f]{0,4}:){0,5}(?:(?:\\d{1,3}\\.){3}\\d{1,3}|[0-9a-f]{1,4})?",
                        "ipv6", 0.8, List.of("ip"), 0.5),
                d("jwt", "SECRET", "\\beyJ[A-Za-z0-9_\\-]{8,}\\.eyJ[A-Za-z0-9_\\-]{8,}\\.[A-Za-z0-9_\\-]{8,}",
                        "none", 0.95, List.of(), 0.5),
                d("aws-access-key", "SECRET", "\\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA)[A-Z0-9]{16}\\b", "none",
                        0.95, List.of(), 0.5),
                d("openai-anthropic-key", "SECRET", "\\bsk-(?:proj-|svcacct-|admin-|ant-)?[A-Za-z0-9_\\-]{20,}",
                        "none", 0.95, List.of(), 0.5),
                d("github-token", "SECRET", "\\b(?:gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{22,})",
                        "none", 0.95, List.of(), 0.5),
                d("slack-token", "SECRET", "\\bxox[abprs]-[A-Za-z0-9\\-]{10,}", "none", 0.95, List.of(), 0.5),
                d("google-api-key", "SECRET", "\\bAIza[0-9A-Za-z_\\-]{35}", "none", 0.95, List.of(), 0.5),
                d("stripe-key", "SECRET", "\\b(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{16,}", "none", 0.95, List.of(), 0.5),
                d("private-key", "SECRET", "-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----(?s:.*?)-----END (?:[A-Z0-9]+ )*"
                        + "PRIVATE KEY-----", "none", 0.99, List.of(), 0.5));
    }
}
