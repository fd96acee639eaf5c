package attest.masking;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * The labelled corpus behind {@link MaskingAccuracyTest}: sentences holding entities of every type in the forms
 * the world writes them (every card network and length, every registry IBAN country, national and E.164
 * phones, IPv4 and IPv6 in brackets, with ports and at sentence ends, secrets), in ASCII and in Unicode forms
 * (full-width, Arabic-Indic, Devanagari, mathematical digits; full-width plus, small plus, full-width hyphen,
 * en and em dash, minus; NBSP, narrow NBSP, thin and ideographic spaces; zero-width characters), and
 * look-alikes that must stay clean: long dotted versions, epoch timestamps (s, ms, µs, ns), ISO dates, UUIDs,
 * hashes, order ids, Luhn-valid numbers no network issues, invalid SSNs, 9-digit numbers after an SSN,
 * phone-like serials, IBANs with a wrong length or checksum, MAC addresses, times, C++ paths, amounts.
 */
final class MaskingCorpus {
    private MaskingCorpus() {
    }

    /** A labelled span: its type (an entity type, or LOOKALIKE) and its offsets in the sample's text. */
    record Span(String type, String form, int start, int end) {
    }

    record Sample(String text, List<Span> spans) {
        List<Span> entities() {
            return spans.stream().filter(s -> !s.type().equals(LOOKALIKE)).toList();
        }

        List<Span> lookAlikes() {
            return spans.stream().filter(s -> s.type().equals(LOOKALIKE)).toList();
        }
    }

    record Piece(String type, String form, String value) {
    }

    static final String LOOKALIKE = "LOOKALIKE";

    static final String[] OPENERS = {"Sure, here it is:", "As requested, the record shows", "I found", "Noted:",
        "The customer's file lists", "According to the ticket,", "Please verify", "Here is what the log says:",
        "Summary of the account:", "From the CRM export:"};
    static final String[] CLOSERS = {"Let me know if you need more.", "Is there anything else?", "Thanks.",
        "That is all I have.", "It was updated yesterday.", "The build finished at 12:04:33 UTC."};

    /** Unicode decimal digit zeros: ASCII, full-width, Arabic-Indic, Extended Arabic-Indic, Devanagari,
     * Bengali, Thai, mathematical bold (outside the BMP). */
    static final int[] ZEROS = {'0', 0xFF10, 0x0660, 0x06F0, 0x0966, 0x09E6, 0x0E50, 0x1D7CE};
    static final String[] SPACES = {" ", "\u00A0", "\u202F", "\u2009", "\u3000"};
    static final String[] DASHES = {"-", "\u2013", "\u2014", "\u2212", "\uFF0D", "\u2011"};

    static String digits(Random r, int n) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < n; i++) {
            sb.append((char) ('0' + r.nextInt(10)));
        }
        return sb.toString();
    }

    static String luhnComplete(String prefix, int length, Random r) {
        String body = prefix + digits(r, length - prefix.length() - 1);
        for (int d = 0; d < 10; d++) {
            if (luhn(body + d)) {
                return body + d;
            }
        }
        throw new IllegalStateException();
    }

    /** The digits of {@code s} written with the digit forms starting at {@code zero}; other chars kept. */
    static String digitForm(String s, int zero) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c >= '0' && c <= '9') {
                sb.appendCodePoint(zero + (c - '0'));
            } else {
                sb.append(c);
            }
        }
        return sb.toString();
    }

    /** Full-width digits, letters, plus, dot and hyphen. */
    static String fullWidth(String s) {
        StringBuilder sb = new StringBuilder();
        for (char c : s.toCharArray()) {
            if ((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '+' || c == '.'
                    || c == '-' || c == '@' || c == ':') {
                sb.append((char) (c - 0x20 + 0xFF00));
            } else {
                sb.append(c);
            }
        }
        return sb.toString();
    }

    static String group(String d, String sep, int... sizes) {
        StringBuilder sb = new StringBuilder();
        int at = 0;
        for (int s : sizes) {
            if (at >= d.length()) {
                break;
            }
            if (sb.length() > 0) {
                sb.append(sep);
            }
            sb.append(d, at, Math.min(d.length(), at + s));
            at += s;
        }
        if (at < d.length()) {
            sb.append(sep).append(d, at, d.length());
        }
        return sb.toString();
    }

    static <T> T pick(Random r, T[] xs) {
        return xs[r.nextInt(xs.length)];
    }

    // ---------------------------------------------------------------- entities

    static Piece card(Random r) {
        String[][] networks = {{"4", "16"}, {"4", "13"}, {"4", "19"}, {"51", "16"}, {"55", "16"}, {"2221", "16"},
            {"2720", "16"}, {"34", "15"}, {"37", "15"}, {"6011", "16"}, {"644", "16"}, {"65", "19"},
            {"622126", "16"}, {"3528", "16"}, {"3589", "19"}, {"36", "14"}, {"38", "16"}, {"300", "14"},
            {"62", "17"}, {"62", "19"}, {"6759", "16"}};
        String[] n = pick(r, networks);
        int len = Integer.parseInt(n[1]);
        String d = luhnComplete(n[0], len, r);
        int[] sizes = switch (len) {
            case 13 -> r.nextBoolean() ? new int[] {4, 4, 5} : new int[] {4, 4, 4, 1};
            case 14 -> new int[] {4, 6, 4};
            case 15 -> new int[] {4, 6, 5};
            case 17 -> new int[] {4, 4, 4, 5};
            case 18 -> new int[] {4, 4, 4, 6};
            default -> new int[] {4, 4, 4, 4, 4};
        };
        int form = r.nextInt(10);
        String v = switch (form) {
            case 0 -> d;
            case 1 -> group(d, " ", sizes);
            case 2 -> group(d, "-", sizes);
            case 3 -> group(d, ".", sizes);
            case 4 -> group(d, pick(r, SPACES), sizes);
            case 5 -> digitForm(group(d, "\uFF0D", sizes), 0xFF10);
            case 6 -> group(d, pick(r, DASHES), sizes);
            case 7 -> digitForm(r.nextBoolean() ? d : group(d, " ", sizes), ZEROS[1 + r.nextInt(ZEROS.length - 1)]);
            case 8 -> group(d, "\u200B", sizes);
            default -> digitForm(group(d, "\u3000", sizes), 0xFF10);
        };
        return new Piece("CARD", "card-" + n[0] + "-" + len + "-f" + form, v);
    }

    static Piece ssn(Random r) {
        while (true) {
            int area = 1 + r.nextInt(899);
            String d = String.format("%03d%02d%04d", area, 1 + r.nextInt(99), 1 + r.nextInt(9999));
            if (!validSsn(d)) {
                continue;
            }
            int form = r.nextInt(7);
            String sep = switch (form) {
                case 0 -> " ";
                case 1 -> ".";
                case 2 -> pick(r, DASHES);
                case 3 -> "\u00A0";
                default -> "-";
            };
            String v = form == 6 ? d : d.substring(0, 3) + sep + d.substring(3, 5) + sep + d.substring(5);
            if (form == 5) {
                v = digitForm(v, ZEROS[r.nextInt(ZEROS.length)]);
            }
            return new Piece("SSN", "ssn-f" + form, v);
        }
    }

    static String ibanOf(String country, String bban) {
        String numeric = (bban + country + "00").chars().mapToObj(ch -> ch >= '0' && ch <= '9'
                ? String.valueOf((char) ch) : String.valueOf(ch - 'A' + 10)).reduce("", String::concat);
        int check = 98 - new BigInteger(numeric).mod(BigInteger.valueOf(97)).intValue();
        return country + String.format("%02d", check) + bban;
    }

    /** The SWIFT IBAN registry's countries and lengths, written out here (the oracle is not the code). */
    static final String REGISTRY = "AD24 AE23 AL28 AT20 AZ28 BA20 BE16 BG22 BH22 BI27 BR29 BY28 CH21 CR22 CY28 CZ24 "
            + "DE22 DJ27 DK18 DO28 EE20 EG29 ES24 FI18 FK18 FO18 FR27 GB22 GE22 GI23 GL18 GR27 GT28 HN28 HR21 HU28 "
            + "IE22 IL23 IQ23 IS26 IT27 JO30 KW30 KZ20 LB28 LC32 LI21 LT20 LU20 LV21 LY25 MC27 MD24 ME22 MK19 MN20 "
            + "MR27 MT31 MU30 NI28 NL18 NO15 OM23 PK24 PL28 PS29 PT25 QA29 RO24 RS22 RU33 SA24 SC31 SD18 SE24 SI19 "
            + "SK24 SM27 SO23 ST25 SV28 TL23 TN24 TR26 UA29 VA22 VG24 XK20 YE30";
    static final List<Map.Entry<String, Integer>> COUNTRIES = java.util.Arrays.stream(REGISTRY.split(" "))
            .map(c -> Map.entry(c.substring(0, 2), Integer.parseInt(c.substring(2)))).toList();

    static boolean luhn(String digits) {
        int sum = 0;
        for (int i = 0; i < digits.length(); i++) {
            int n = digits.charAt(digits.length() - 1 - i) - '0';
            if (i % 2 == 1) {
                n = n * 2 > 9 ? n * 2 - 9 : n * 2;
            }
            sum += n;
        }
        return sum % 10 == 0;
    }

    /** Presidio's SSN rules: area not 000, 666 or 9xx; group not 00; serial not 0000; not one repeated digit. */
    static boolean validSsn(String d) {
        return !d.startsWith("000") && !d.startsWith("666") && d.charAt(0) != '9' && !d.startsWith("00", 3)
                && !d.endsWith("0000") && d.chars().distinct().count() > 1
                && !java.util.Set.of("078051120", "219099999", "123456789", "457555462").contains(d);
    }

    static Piece iban(Random r) {
        Map.Entry<String, Integer> c = COUNTRIES.get(r.nextInt(COUNTRIES.size()));
        if (r.nextInt(4) == 0) {
            c = Map.entry("NL", 18);
        }
        int bbanLength = c.getValue() - 4;
        StringBuilder bban = new StringBuilder();
        int letters = r.nextInt(3);
        for (int i = 0; i < bbanLength; i++) {
            // some BBANs are nearly all letters (GI, MD, PK, BH): an IBAN may hold only its two check digits
            boolean letter = letters == 1 ? i < 4 : letters == 2 && r.nextInt(10) < 8;
            bban.append(letter ? (char) ('A' + r.nextInt(26)) : (char) ('0' + r.nextInt(10)));
        }
        String iban = ibanOf(c.getKey(), bban.toString());
        int form = r.nextInt(9);
        String v = switch (form) {
            case 0 -> iban;
            case 1 -> group(iban, " ", 4, 4, 4, 4, 4, 4, 4, 4, 4);
            case 2 -> group(iban, pick(r, SPACES), 4, 4, 4, 4, 4, 4, 4, 4, 4);
            case 3 -> fullWidth(iban);
            case 4 -> fullWidth(group(iban, "\u3000", 4, 4, 4, 4, 4, 4, 4, 4, 4));
            case 5 -> group(iban, " ", 4, 4, 4, 4, 4, 4, 4, 4, 4).toLowerCase(java.util.Locale.ROOT);
            case 6 -> group(iban, pick(r, DASHES), 4, 4, 4, 4, 4, 4, 4, 4, 4);
            case 7 -> iban.toLowerCase(java.util.Locale.ROOT);
            default -> group(iban, pick(r, new String[] {"\u00A0", "\u2009", "\u202F"}), 4, 4, 4, 4, 4, 4, 4, 4, 4);
        };
        return new Piece("IBAN", "iban-" + c.getKey() + "-f" + form, v);
    }

    static Piece email(Random r) {
        String[] names = {"jane.doe", "j.smith", "ops+alerts", "k_lee", "maria.garcia", "x99", "First.Last",
            "o'brien", "a-b"};
        String[] domains = {"example.com", "mail.example.org", "corp.example.co.uk", "example.io", "EXAMPLE.NET",
            "sub-1.example.travel"};
        // RFC 6531: internationalised domains (also punycode) and local parts
        String[] idnDomains = {"bücher-haus.example", "köln-messe.example", "例え.jp", "почта-россии.рф",
            "xn--bcher-kva.example", "café-lumière.fr", "παράδειγμα.ελ", "δοκιμή.example", "münchen.de"};
        String[] idnLocals = {"jürgen", "zoë.müller", "иван.петров", "用户", "josé", "søren", "δοκιμή", "françois"};
        String v = names[r.nextInt(names.length)].replace("'", "") + r.nextInt(100) + "@" + pick(r, domains);
        int form = r.nextInt(10);
        v = switch (form) {
            case 5 -> v.replace("@", "\uFF20");
            case 6 -> v.substring(0, v.indexOf('@') + 1) + pick(r, idnDomains);
            case 7 -> pick(r, idnLocals) + r.nextInt(100) + "@" + pick(r, idnDomains);
            case 8 -> pick(r, idnLocals) + r.nextInt(100) + "@" + pick(r, domains);
            case 9 -> (r.nextBoolean() ? "mailto:" : "MAILTO:") + v;
            default -> v;
        };
        return new Piece("EMAIL", "email-f" + form, v);
    }

    static String nanpDigits(Random r) {
        return (2 + r.nextInt(8)) + digits(r, 2) + (2 + r.nextInt(8)) + digits(r, 2) + digits(r, 4);
    }

    static Piece phone(Random r) {
        String n = nanpDigits(r);
        String a = n.substring(0, 3);
        String b = n.substring(3, 6);
        String c = n.substring(6);
        int form = r.nextInt(25);
        String v = switch (form) {
            case 0 -> "(" + a + ") " + b + "-" + c;
            case 1 -> a + "-" + b + "-" + c;
            case 2 -> a + "." + b + "." + c;
            case 3 -> "+1 " + a + " " + b + " " + c;
            case 4 -> "+1-" + a + "-" + b + "-" + c;
            case 5 -> "+1" + n;
            case 6 -> "+44 20 " + digits(r, 4) + " " + digits(r, 4);
            case 7 -> "+49 30 " + (1 + r.nextInt(9)) + digits(r, 7);
            case 8 -> "+33 " + (1 + r.nextInt(9)) + " " + digits(r, 2) + " " + digits(r, 2) + " " + digits(r, 2)
                    + " " + digits(r, 2);
            case 9 -> "+91 9" + digits(r, 4) + " " + digits(r, 5);
            case 10 -> "+81 3-" + digits(r, 4) + "-" + digits(r, 4);
            case 11 -> fullWidth("+1" + n);
            case 12 -> "\uFE62" + digitForm("1" + n, 0xFF10);
            case 13 -> "020 " + digits(r, 4) + " " + digits(r, 4);
            case 14 -> a + pick(r, DASHES) + b + pick(r, DASHES) + c;
            case 15 -> "+852" + pick(r, SPACES) + digits(r, 4) + pick(r, SPACES) + digits(r, 4);
            case 16, 17, 18 -> nationalPhone(r);
            case 19 -> fullWidth(nationalPhone(r)).replace(' ', '\u3000').replace('(', '\uFF08').replace(')', '\uFF09')
                    .replace('/', '\uFF0F');
            case 20 -> nationalPhone(r).replace(" ", pick(r, SPACES)).replace("-", pick(r, DASHES));
            case 21 -> nationalPhone(r).replaceFirst("(\\d)(\\d)", "$1\u200B$2");
            case 22, 23 -> barePhone(r);
            default -> digitForm(barePhone(r), ZEROS[1 + r.nextInt(ZEROS.length - 1)]);
        };
        return new Piece("PHONE", (form >= 22 ? "phone-bare-f" : "phone-f") + form, v);
    }

    /**
     * National formats as numbering plans write them: trunk prefix 0 (UK, DE, FR, JP, NL, IN, AU) or 8 (RU),
     * the international prefix 00, area codes in brackets (AU, BR), spaces, dashes, slashes and French dots.
     */
    static String nationalPhone(Random r) {
        return switch (r.nextInt(14)) {
            case 0 -> "07" + (1 + r.nextInt(9)) + digits(r, 2) + " " + digits(r, 6);
            case 1 -> "030 " + (1 + r.nextInt(9)) + digits(r, 7);
            case 2 -> "015" + (1 + r.nextInt(9)) + " " + (1 + r.nextInt(9)) + digits(r, 7);
            case 3 -> "0" + (2 + r.nextInt(8)) + r.nextInt(10) + "/" + (1 + r.nextInt(9)) + digits(r, 6);
            case 4 -> "0" + (1 + r.nextInt(9)) + " " + digits(r, 2) + " " + digits(r, 2) + " " + digits(r, 2) + " "
                    + digits(r, 2);
            case 5 -> "0" + (1 + r.nextInt(9)) + "." + digits(r, 2) + "." + digits(r, 2) + "." + digits(r, 2) + "."
                    + digits(r, 2);
            case 6 -> "0" + pick(r, new String[] {"3", "6", "90", "80", "70"}) + "-" + digits(r, 4) + "-"
                    + digits(r, 4);
            case 7 -> "06-" + (1 + r.nextInt(9)) + digits(r, 7);
            case 8 -> "0" + (7 + r.nextInt(3)) + digits(r, 4) + " " + digits(r, 5);
            case 9 -> "(0" + (2 + r.nextInt(7)) + ") " + (1 + r.nextInt(9)) + digits(r, 3) + " " + digits(r, 4);
            case 10 -> "(" + (1 + r.nextInt(9)) + (1 + r.nextInt(9)) + ") 9" + digits(r, 4) + "-" + digits(r, 4);
            case 11 -> "8 (9" + digits(r, 2) + ") " + digits(r, 3) + "-" + digits(r, 2) + "-" + digits(r, 2);
            case 12 -> "00" + pick(r, new String[] {"49 30", "44 20", "33 1", "39 06"}) + " " + digits(r, 4) + " "
                    + digits(r, 4);
            default -> "0" + (2 + r.nextInt(8)) + digits(r, 3) + " " + digits(r, 6);
        };
    }

    /**
     * A phone number written as a bare digit run (it needs a label): a Chinese mobile, a trunk-0 number, a Russian
     * number with its trunk 8, a Brazilian area code and mobile, or the international prefix 00.
     */
    static String barePhone(Random r) {
        return switch (r.nextInt(5)) {
            case 0 -> "1" + (3 + r.nextInt(7)) + digits(r, 9);
            case 1 -> "0" + (1 + r.nextInt(9)) + digits(r, 8 + r.nextInt(2));
            case 2 -> "89" + digits(r, 9);
            case 3 -> (1 + r.nextInt(9)) + "" + (1 + r.nextInt(9)) + "9" + digits(r, 8);
            default -> "00" + pick(r, new String[] {"49", "44", "33"}) + (1 + r.nextInt(9)) + digits(r, 8);
        };
    }

    static String ipv4(Random r) {
        return (1 + r.nextInt(223)) + "." + r.nextInt(256) + "." + r.nextInt(256) + "." + (1 + r.nextInt(254));
    }

    static String hex(Random r) {
        return Integer.toHexString(1 + r.nextInt(65534));
    }

    /** IP addresses; the value is what must be masked, the prefix and suffix are written around it. */
    static Piece[] ip(Random r) {
        int form = r.nextInt(10);
        return switch (form) {
            case 0 -> new Piece[] {new Piece("IP_ADDRESS", "ipv4", ipv4(r))};
            case 1 -> new Piece[] {new Piece("", "", "("), new Piece("IP_ADDRESS", "ipv4-paren", ipv4(r)),
                new Piece("", "", ")")};
            case 2 -> new Piece[] {new Piece("IP_ADDRESS", "ipv4-port", ipv4(r)),
                new Piece("", "", ":" + (1024 + r.nextInt(60000)))};
            case 3 -> new Piece[] {new Piece("", "", "IP "), new Piece("IP_ADDRESS", "ipv4-end", ipv4(r)),
                new Piece("", "", ". Then")};
            case 4 -> new Piece[] {new Piece("IP_ADDRESS", "ipv4-fullwidth", fullWidth(ipv4(r)))};
            case 5 -> new Piece[] {new Piece("IP_ADDRESS", "ipv6-short", "2001:db8::" + hex(r) + ":" + hex(r))};
            case 6 -> new Piece[] {new Piece("IP_ADDRESS", "ipv6-full", "fe80:0:0:0:" + hex(r) + ":" + hex(r) + ":1:2")};
            case 7 -> new Piece[] {new Piece("", "", "["), new Piece("IP_ADDRESS", "ipv6-bracket",
                "2001:db8:" + hex(r) + "::" + hex(r)), new Piece("", "", "]:443")};
            case 8 -> new Piece[] {new Piece("IP_ADDRESS", "ipv6-mapped", "::ffff:" + ipv4(r))};
            default -> new Piece[] {new Piece("IP_ADDRESS", "ipv6-zone", "fe80::" + hex(r)),
                new Piece("", "", "%eth0")};
        };
    }

    static Piece secret(Random r) {
        String alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        StringBuilder k = new StringBuilder();
        for (int i = 0; i < 40; i++) {
            k.append(alnum.charAt(r.nextInt(alnum.length())));
        }
        int form = r.nextInt(8);
        return new Piece("SECRET", "secret-f" + form, switch (form) {
            case 0 -> "sk-proj-" + k;
            case 1 -> "AKIA" + k.substring(0, 16).toUpperCase();
            case 2 -> "ghp_" + k.substring(0, 36);
            case 3 -> "xoxb-" + digits(r, 11) + "-" + k.substring(0, 20);
            case 4 -> "sk_live_" + k.substring(0, 24);
            case 5 -> "AIza" + k.substring(0, 35);
            case 6 -> "github_pat_" + k.substring(0, 30);
            default -> "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIx" + k.substring(0, 10) + "." + k.substring(10, 40);
        });
    }

    // ---------------------------------------------------------------- look-alikes

    /**
     * Hostile look-alikes for the national phone formats, the bare numbers found under a column's name, RFC 6531
     * e-mail addresses and lower-case or dash-grouped IBANs: what a detector widened for those shapes would wrongly
     * mask. Each must stay clean (they stand after a neutral label, never a context word).
     */
    static final List<java.util.function.Function<Random, String>> HOSTILE_PHONE = List.of(
            x -> String.format("%02d.%02d.%d", 1 + x.nextInt(28), 1 + x.nextInt(12), 1990 + x.nextInt(40)),
            x -> String.format("%02d/%02d/%d", 1 + x.nextInt(28), 1 + x.nextInt(12), 1990 + x.nextInt(40)),
            x -> "0." + x.nextInt(20) + "." + (1000 + x.nextInt(9000)) + "." + x.nextInt(100),
            x -> "0-" + digits(x, 3) + "-" + digits(x, 5) + "-" + x.nextInt(10),
            x -> "0" + (1 + x.nextInt(9)) + digits(x, 8),
            x -> "1" + (3 + x.nextInt(7)) + digits(x, 9),
            x -> (2 + x.nextInt(8)) + digits(x, 2) + (2 + x.nextInt(8)) + digits(x, 6),
            x -> "89" + digits(x, 9),
            x -> "0049" + digits(x, 3),
            x -> "00" + digits(x, 18),
            x -> String.format("%02d:%02d-%02d:%02d", x.nextInt(24), x.nextInt(60), x.nextInt(24), x.nextInt(60)),
            x -> "0" + (1 + x.nextInt(9)) + "." + digits(x, 2) + "." + digits(x, 2) + "." + digits(x, 2),
            x -> "0" + (1 + x.nextInt(9)) + " " + digits(x, 2) + " " + digits(x, 2),
            x -> "0,5" + digits(x, 1) + " 0,2" + digits(x, 1),
            x -> "(" + (1 + x.nextInt(9)) + ") " + digits(x, 3) + "-" + digits(x, 2),
            x -> "8 (" + digits(x, 3) + ") " + digits(x, 2),
            x -> "0" + digits(x, 1) + "-" + digits(x, 4),
            x -> "v0." + x.nextInt(20) + "." + x.nextInt(20) + "-beta." + x.nextInt(9),
            x -> "00:" + String.format("%02d:%02d", x.nextInt(60), x.nextInt(60)),
            x -> "RE-" + (2020 + x.nextInt(7)) + "/0" + digits(x, 5),
            x -> "SKU-0" + digits(x, 2) + "-" + digits(x, 3) + "-" + digits(x, 4) + "X",
            x -> "0x" + Long.toHexString(x.nextLong()),
            x -> "0" + digits(x, 1) + "/" + digits(x, 2),
            x -> "BLZ " + (100 + x.nextInt(899)) + " " + digits(x, 3) + " " + digits(x, 2),
            x -> (10000 + x.nextInt(89999)) + " " + pick(x, new String[] {"Paris", "Berlin", "Madrid"}),
            x -> "0" + (1 + x.nextInt(9)) + digits(x, 2) + " " + digits(x, 3),
            x -> "1-" + digits(x, 3) + "-" + digits(x, 3),
            x -> "0." + digits(x, 6) + ", " + (10 + x.nextInt(80)) + "." + digits(x, 6),
            x -> "(0) " + digits(x, 2),
            x -> "08/15",
            x -> "0012" + digits(x, 6),
            x -> "2023" + digits(x, 4) + " " + digits(x, 4));

    static final List<java.util.function.Function<Random, String>> HOSTILE_EMAIL = List.of(
            x -> "lodash@" + x.nextInt(5) + "." + x.nextInt(20) + "." + x.nextInt(30),
            x -> "@babel/core", x -> "@types/node@" + (14 + x.nextInt(8)) + ".0." + x.nextInt(9),
            x -> "user@localhost", x -> "@handle" + x.nextInt(100), x -> "name@", x -> "a@b",
            x -> "foo@bar." + x.nextInt(1000), x -> "image@sha256:" + digits(x, 8), x -> "@Override",
            x -> "x@y.z", x -> "price @ " + x.nextInt(9) + ".99", x -> "müller@", x -> "@用户" + x.nextInt(100),
            x -> "@пользователь", x -> "jürgen@köln", x -> "logo@2x.png", x -> "icon@3x.webp",
            x -> "banner@1.5x.jpg", x -> "user@@example", x -> "email@example", x -> "@media",
            x -> "INC@" + digits(x, 5), x -> "@app.route", x -> "pkg@npm:" + x.nextInt(9) + ".0",
            x -> "@jürgen.müller", x -> "user @ example", x -> "a@b.c", x -> "@" + digits(x, 6),
            x -> "ftp@", x -> "δοκιμή@", x -> "@例え.jp");

    static final List<java.util.function.Function<Random, String>> HOSTILE_IBAN = List.of(
            x -> badIban(x).toLowerCase(java.util.Locale.ROOT),
            x -> group(badIban(x), "-", 4, 4, 4, 4, 4, 4, 4, 4, 4),
            x -> group(badIban(x), " ", 4, 4, 4, 4, 4, 4, 4, 4, 4).toLowerCase(java.util.Locale.ROOT),
            x -> "DE" + digits(x, 2) + "-" + digits(x, 4) + "-" + digits(x, 4),
            x -> ibanOf("DE", digits(x, 18)).toLowerCase(java.util.Locale.ROOT).substring(0, 21),
            x -> "AB" + digits(x, 2) + " CDE", x -> "SW1A " + x.nextInt(10) + "AA",
            x -> "ab12-cd34-ef56-gh" + digits(x, 2), x -> "US" + digits(x, 10),
            x -> "DE000" + digits(x, 7), x -> "GB00" + digits(x, 8), x -> "no" + digits(x, 2) + " " + digits(x, 4),
            x -> "deutdeff" + digits(x, 3), x -> "CH-" + (1000 + x.nextInt(8999)) + " Zürich",
            x -> "AT-" + (1000 + x.nextInt(8999)) + " Wien", x -> "NL-" + (1000 + x.nextInt(8999)) + " AB",
            x -> "BE0" + digits(x, 3) + "." + digits(x, 3) + "." + digits(x, 3), x -> "DE" + digits(x, 9),
            x -> "fr" + digits(x, 11), x -> "GB" + digits(x, 3) + " " + digits(x, 4) + " " + digits(x, 2),
            x -> "ATU" + digits(x, 8), x -> "lt" + digits(x, 2) + "-" + digits(x, 4) + "-" + digits(x, 4),
            x -> ibanOf("DE", digits(x, 18)).replaceAll("(.{4})", "$1-") + digits(x, 2),
            x -> "XX" + digits(x, 2) + " " + digits(x, 4) + " " + digits(x, 4) + " " + digits(x, 4),
            x -> "D-ABC" + (char) ('A' + x.nextInt(26)), x -> "MSCU" + digits(x, 7),
            x -> "1HGCM" + digits(x, 5) + "A" + digits(x, 6), x -> "es" + digits(x, 2) + " abcd efgh",
            x -> "gb" + digits(x, 2) + "west" + digits(x, 13), x -> "pl" + digits(x, 2) + " " + digits(x, 4),
            x -> "se-" + digits(x, 4));

    /** 9-digit numbers that pass the SSN rules, in places that give no SSN context. */
    static final List<java.util.function.Function<Random, String>> HOSTILE_SSN = List.of(
            x -> "PO " + nineDigitOrder(x), x -> "#" + nineDigitOrder(x), x -> "ticket #" + nineDigitOrder(x),
            x -> "ISBN " + nineDigitOrder(x) + "X", x -> "routing " + nineDigitOrder(x),
            x -> "order_id=" + nineDigitOrder(x), x -> "case " + nineDigitOrder(x), x -> "'" + nineDigitOrder(x) + "'",
            x -> "\"" + nineDigitOrder(x) + "\"", x -> "(" + nineDigitOrder(x) + ")", x -> nineDigitOrder(x) + "ms",
            x -> "id:" + nineDigitOrder(x), x -> "invoice " + nineDigitOrder(x), x -> "account " + nineDigitOrder(x),
            x -> "ref " + fullWidthDigits(nineDigitOrder(x)), x -> "batch " + nineDigitOrder(x) + ",",
            x -> "EIN " + digits(x, 2) + "-" + digits(x, 7), x -> "part " + nineDigitOrder(x),
            x -> "seq=" + nineDigitOrder(x), x -> "SAP " + nineDigitOrder(x), x -> "lot " + nineDigitOrder(x),
            x -> "zip " + digits(x, 5) + "-" + digits(x, 4), x -> "build " + nineDigitOrder(x),
            x -> "pid " + nineDigitOrder(x), x -> "ISIN US" + nineDigitOrder(x) + digits(x, 1),
            x -> "CUSIP " + nineDigitOrder(x), x -> "msisdn-like " + nineDigitOrder(x),
            x -> "| " + nineDigitOrder(x) + " |", x -> nineDigitOrder(x) + ",", x -> "n=" + nineDigitOrder(x),
            x -> "size " + nineDigitOrder(x) + " bytes");

    static String fullWidthDigits(String d) {
        return digitForm(d, 0xFF10);
    }

    /** An IBAN of a common country with a wrong check. */
    static String badIban(Random r) {
        String country = pick(r, new String[] {"DE", "FR", "NL", "GB", "ES", "IT"});
        int len = COUNTRIES.stream().filter(c -> c.getKey().equals(country)).findFirst().orElseThrow().getValue();
        String good = ibanOf(country, country.equals("NL") || country.equals("GB")
                ? "ABCD" + digits(r, len - 8) : digits(r, len - 4));
        int check = Integer.parseInt(good.substring(2, 4));
        return good.substring(0, 2) + String.format("%02d", check == 98 ? 2 : check + 1) + good.substring(4);
    }

    static String lookAlike(Random r) {
        if (r.nextInt(3) == 0) {
            List<java.util.function.Function<Random, String>> hostile = List.of(HOSTILE_PHONE, HOSTILE_EMAIL,
                    HOSTILE_IBAN, HOSTILE_SSN).get(r.nextInt(4));
            return hostile.get(r.nextInt(hostile.size())).apply(r);
        }
        int kind = r.nextInt(30);
        return switch (kind) {
            case 0 -> digits(r, 6 + r.nextInt(6));
            case 1 -> "2026-" + String.format("%02d-%02dT%02d:%02d:%02dZ", 1 + r.nextInt(12), 1 + r.nextInt(28),
                    r.nextInt(24), r.nextInt(60), r.nextInt(60));
            case 2 -> r.nextInt(10) + "." + r.nextInt(20) + "." + r.nextInt(50);
            case 3 -> {
                // a dotted version of five or more parts
                StringBuilder v = new StringBuilder(String.valueOf(r.nextInt(12)));
                int parts = 5 + r.nextInt(3);
                for (int i = 1; i < parts; i++) {
                    v.append('.').append(r.nextInt(r.nextBoolean() ? 10 : 256));
                }
                yield (r.nextBoolean() ? "v" : "") + v;
            }
            case 4 -> "17" + digits(r, 8); // epoch seconds
            case 5 -> "17" + digits(r, 11); // epoch milliseconds
            case 6 -> "17" + digits(r, 14); // epoch microseconds
            case 7 -> "17" + digits(r, 17); // epoch nanoseconds
            case 8 -> {
                // Luhn-valid but no network issues this prefix and length
                String[] prefixes = {"1", "7", "8", "9", "0"};
                yield luhnComplete(pick(r, prefixes), 13 + r.nextInt(7), r);
            }
            case 9 -> {
                String d = luhnComplete("4", 16, r);
                yield d.substring(0, 15) + ((d.charAt(15) - '0' + 1) % 10); // Luhn fails
            }
            case 10 -> (r.nextBoolean() ? "000" : r.nextBoolean() ? "666" : "9" + digits(r, 2)) + "-"
                    + (10 + r.nextInt(90)) + "-" + (1000 + r.nextInt(9000));
            case 11 -> (100 + r.nextInt(500)) + "-00-" + (1000 + r.nextInt(9000));
            case 12 -> (100 + r.nextInt(500)) + "-" + (10 + r.nextInt(90)) + "-0000";
            case 13 -> "INC-" + digits(r, 7);
            case 14 -> digits(r, 3) + "," + digits(r, 3) + "." + digits(r, 2);
            case 15 -> java.util.UUID.nameUUIDFromBytes(digits(r, 8).getBytes()).toString();
            case 16 -> {
                StringBuilder h = new StringBuilder();
                for (int i = 0; i < 40; i++) {
                    h.append("0123456789abcdef".charAt(r.nextInt(16)));
                }
                yield h.toString();
            }
            case 17 -> "1" + digits(r, 2) + "-" + (r.nextBoolean() ? "1" : "0") + digits(r, 2) + "-"
                    + digits(r, 4); // NANP-shaped serial: the area code starts with 1
            case 18 -> {
                String iban = ibanOf("NL", "ABNA" + digits(r, 10));
                yield r.nextBoolean() ? iban.substring(0, 17) : iban.substring(0, 17) + ((iban.charAt(17) - '0' + 1)
                        % 10);
            }
            case 19 -> String.format("%02x:%02x:%02x:%02x:%02x:%02x", r.nextInt(256), r.nextInt(256),
                    r.nextInt(256), r.nextInt(256), r.nextInt(256), r.nextInt(256));
            case 20 -> String.format("%02d:%02d:%02d", r.nextInt(24), r.nextInt(60), r.nextInt(60));
            case 21 -> "std::vector::at";
            case 22 -> String.format("%02d.%02d.%d", 1 + r.nextInt(28), 1 + r.nextInt(12), 1990 + r.nextInt(40));
            case 23 -> "978-" + r.nextInt(10) + "-" + digits(r, 2) + "-" + digits(r, 6) + "-" + r.nextInt(10);
            case 24 -> fullWidth("17" + digits(r, 11));
            case 25 -> fullWidth(r.nextInt(10) + "." + r.nextInt(10) + "." + r.nextInt(10) + "." + r.nextInt(10)
                    + "." + r.nextInt(10));
            case 26 -> "9400" + digits(r, 18); // a 22-digit tracking number
            case 27 -> digits(r, 4) + " " + digits(r, 4); // a short grouped number
            case 28 -> "1.2.3.4." + r.nextInt(10);
            default -> "$" + (1 + r.nextInt(9)) + "," + digits(r, 3) + "," + digits(r, 3);
        };
    }

    /** A 9-digit number that would pass the SSN rules: must stay clean when no SSN word precedes it. */
    static String nineDigitOrder(Random r) {
        while (true) {
            String d = (1 + r.nextInt(8)) + digits(r, 8);
            if (validSsn(d)) {
                return d;
            }
        }
    }

    static Sample sample(Random r) {
        if (r.nextInt(8) == 0) {
            return tableSample(r);
        }
        StringBuilder text = new StringBuilder(pick(r, OPENERS)).append(' ');
        List<Span> spans = new ArrayList<>();
        int parts = 1 + r.nextInt(3);
        for (int p = 0; p < parts; p++) {
            if (r.nextInt(3) == 0) {
                String[] labels = {"order ", "at ", "version ", "build ", "ref ", "ts ", "id ", "sha ", "", "serial "};
                text.append(pick(r, labels));
                String la = lookAlike(r);
                spans.add(new Span(LOOKALIKE, "lookalike", text.length(), text.length() + la.length()));
                text.append(la).append(", ");
                continue;
            }
            Piece[] pieces = switch (r.nextInt(7)) {
                case 0 -> new Piece[] {card(r)};
                case 1 -> new Piece[] {ssn(r)};
                case 2 -> new Piece[] {iban(r)};
                case 3 -> new Piece[] {email(r)};
                case 4 -> new Piece[] {phone(r)};
                case 5 -> ip(r);
                default -> new Piece[] {secret(r)};
            };
            String type = java.util.Arrays.stream(pieces).map(Piece::type).filter(t -> !t.isEmpty()).findFirst()
                    .orElseThrow();
            String label = switch (type) {
                case "SSN" -> pick(r, new String[] {"SSN ", "SSN: ", "social security number ", "社会保障番号：",
                    "SSN（社会保障番号）：", "social_security_number="});
                case "CARD" -> pick(r, new String[] {"card ", "Visa ", "", "paid with "});
                case "PHONE" -> pieces[0].form().startsWith("phone-bare")
                        // a bare digit run is a phone only after a label, in the languages answers come in
                        ? pick(r, new String[] {"phone ", "call ", "mobile: ", "tel:", "电话：", "Telefon: ",
                            "téléphone ", "sms to ", "тел. ", "携帯："})
                        : pick(r, new String[] {"phone ", "call ", "", "mobile: "});
                case "IBAN" -> pick(r, new String[] {"IBAN ", "", "account "});
                default -> "";
            };
            text.append(label);
            for (Piece pc : pieces) {
                if (!pc.type().isEmpty()) {
                    spans.add(new Span(pc.type(), pc.form(), text.length(), text.length() + pc.value().length()));
                }
                text.append(pc.value());
            }
            if (type.equals("SSN") && r.nextInt(3) == 0) {
                // context must not carry onto the next number
                text.append(pick(r, new String[] {" and order ", ", then ticket ", ". Order "}));
                String la = nineDigitOrder(r);
                spans.add(new Span(LOOKALIKE, "after-ssn", text.length(), text.length() + la.length()));
                text.append(la);
            }
            text.append(pick(r, new String[] {", ", " and ", "; ", ". Next, "}));
        }
        text.append(pick(r, OPENERS)).append(' ');
        String la = lookAlike(r);
        spans.add(new Span(LOOKALIKE, "lookalike", text.length(), text.length() + la.length()));
        text.append(la).append(". ").append(pick(r, CLOSERS));
        return new Sample(text.toString(), spans);
    }

    /**
     * A table whose labels head the columns, not the values: markdown, CSV or an SQL INSERT. One column holds bare
     * SSNs or bare phone numbers (found only through the column's name); another holds look-alikes of the same shape
     * under a name that is not a context word (order, ticket, ...), which must stay clean.
     */
    static Sample tableSample(Random r) {
        boolean ssn = r.nextBoolean();
        String entName = ssn ? pick(r, new String[] {"ssn", "SSN", "social_security_number", "Social Security"})
                : pick(r, new String[] {"phone", "Phone", "mobile", "Tel", "电话"});
        String refName = pick(r, new String[] {"order", "ticket", "Ref", "invoice_no", "case", "account_ref"});
        boolean entFirst = r.nextBoolean();
        String[] cols = entFirst ? new String[] {"name", entName, refName} : new String[] {"name", refName, entName};
        int kind = r.nextInt(3);
        int rows = 1 + r.nextInt(3);
        StringBuilder text = new StringBuilder(pick(r, OPENERS)).append("\n\n");
        List<Span> spans = new ArrayList<>();
        if (kind == 0) {
            text.append("| ").append(String.join(" | ", cols)).append(" |\n|---|---|---|\n");
        } else if (kind == 1) {
            text.append("```csv\n").append(String.join(",", cols)).append("\n");
        } else {
            text.append("INSERT INTO customers (").append(String.join(", ", cols[0], cols[1].replace(' ', '_'),
                    cols[2].replace(' ', '_')))
                    .append(") VALUES ");
        }
        for (int row = 0; row < rows; row++) {
            String open = kind == 0 ? "| " : kind == 1 ? "" : (row > 0 ? ", " : "") + "('";
            String sep = kind == 0 ? " | " : kind == 1 ? "," : "', '";
            String close = kind == 0 ? " |\n" : kind == 1 ? "\n" : "')";
            text.append(open).append(pick(r, new String[] {"Ana", "Bo", "Chen", "Dana", "Eli"}));
            for (int c = 1; c < 3; c++) {
                text.append(sep);
                boolean entity = cols[c].equals(entName);
                String v = entity ? (ssn ? bareSsn(r) : barePhone(r)) : (ssn ? nineDigitOrder(r) : barePhone(r));
                if (r.nextInt(4) == 0) {
                    v = digitForm(v, 0xFF10);
                }
                spans.add(new Span(entity ? (ssn ? "SSN" : "PHONE") : LOOKALIKE, entity ? "table-" + kind
                        : "table-ref", text.length(), text.length() + v.length()));
                text.append(v);
            }
            text.append(close);
        }
        text.append(kind == 1 ? "```\n" : kind == 2 ? ";\n" : "\n").append(pick(r, CLOSERS));
        return new Sample(text.toString(), spans);
    }

    static String bareSsn(Random r) {
        while (true) {
            String d = String.format("%03d%02d%04d", 1 + r.nextInt(899), 1 + r.nextInt(99), 1 + r.nextInt(9999));
            if (validSsn(d)) {
                return d;
            }
        }
    }
}
