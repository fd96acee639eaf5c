package attest.e2e.outsider;

import java.math.BigInteger;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * An outsider's labelled corpus of model answers, written from knowledge of real-world formats and not from the
 * gateway's own generator or detectors (neither was read to write this).
 * <p>
 * Each answer is realistic text (prose in several languages, lists, tables, code blocks, JSON, logs, CSV, SQL)
 * holding TRUE entities of every type the rule set names, in many real shapes and Unicode forms, and LOOK-ALIKES
 * that must come back byte for byte: versions, epochs, ids, hashes, ISBN, IMEI, invalid SSNs, Luhn-valid numbers
 * with no card network, IBANs with bad checksums, OIDs, dotted runs and more.
 * <p>
 * Scoring contract (used by {@code OutsiderMaskingE2EIT}): an entity is caught only if none of its probes survives
 * in the caller's text after {@link #fold folding} and after removing the gateway's mask tokens. Probes are every
 * 4-character window of every letter/digit run of the entity's value (for secrets: of the secret part, not the
 * public prefix), and the whole value. The generator guarantees that no probe of an entity occurs anywhere else in
 * its answer, so a probe found in the output can only be a leak of that entity. Each look-alike occurs exactly once.
 */
public final class OutsiderCorpus {
    public static final String CARD = "CARD", SSN = "SSN", IBAN = "IBAN", EMAIL = "EMAIL", PHONE = "PHONE",
            IP = "IP_ADDRESS", SECRET = "SECRET";
    public static final List<String> TYPES = List.of(CARD, SSN, IBAN, EMAIL, PHONE, IP, SECRET);

    /** A true entity: its rule-set type, a kind (subclass/form, for diagnosis), the exact value in the text. */
    public record Entity(String type, String kind, String value, List<String> probes) {
    }

    /** A value that must stay byte for byte. */
    public record LookAlike(String kind, String value) {
    }

    public record Answer(int id, String text, List<Entity> entities, List<LookAlike> lookAlikes) {
    }

    /** What a generator returns before it is placed: probeSource is the part whose leak counts. */
    record Gen(String type, String kind, String value, String probeSource) {
    }

    private OutsiderCorpus() {
    }

    public static List<Answer> generate(long seed, int count) {
        Random master = new Random(seed);
        List<Answer> out = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            out.add(answer(i, new Random(master.nextLong())));
        }
        return out;
    }

    static Answer answer(int id, Random r) {
        for (int attempt = 0; attempt < 500; attempt++) {
            Doc d = new Doc(r);
            TEMPLATES.get(r.nextInt(TEMPLATES.size())).accept(d);
            Answer a = d.build(id);
            if (a != null) {
                return a;
            }
        }
        throw new IllegalStateException("could not build an unambiguous answer #" + id);
    }

    // ---- folding and probes ---------------------------------------------------------------------------------

    /** NFKC (full-width to ASCII, NBSP to space), format characters (zero-width, soft hyphen) removed, lower case. */
    public static String fold(String s) {
        String n = Normalizer.normalize(s, Normalizer.Form.NFKC);
        StringBuilder b = new StringBuilder(n.length());
        for (int i = 0; i < n.length(); i++) {
            char c = n.charAt(i);
            if (Character.getType(c) != Character.FORMAT) {
                b.append(c);
            }
        }
        return b.toString().toLowerCase(Locale.ROOT);
    }

    static List<String> probes(Gen g) {
        List<String> out = new ArrayList<>();
        String src = fold(g.probeSource());
        int i = 0;
        while (i < src.length()) {
            int j = i;
            while (j < src.length() && Character.isLetterOrDigit(src.codePointAt(j))) {
                j += Character.charCount(src.codePointAt(j));
            }
            String run = src.substring(i, j);
            for (int k = 0; k + 4 <= run.length(); k++) {
                if (!Character.isLowSurrogate(run.charAt(k))) {
                    out.add(run.substring(k, k + 4));
                }
            }
            i = Math.max(j, i + 1);
            while (i < src.length() && !Character.isLetterOrDigit(src.codePointAt(i))) {
                i++;
            }
        }
        String whole = fold(g.probeSource());
        if (whole.length() >= 4) {
            out.add(whole);
        }
        if (g.type().equals(IP)) {
            Matcher m = Pattern.compile("(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3})").matcher(whole);
            if (m.find()) {
                out.add(m.group(1) + "." + m.group(2) + "." + m.group(3) + ".");
                out.add("." + m.group(2) + "." + m.group(3) + "." + m.group(4));
            }
        }
        return List.copyOf(new java.util.LinkedHashSet<>(out));
    }

    /** Mask tokens as the gateway renders them ({@code [EMAIL]}, {@code [CARD ****1234]}). */
    public static final Pattern MASK_TOKEN = Pattern.compile("\\[[A-Z][A-Z_]*(?: \\*{2,}[^\\]\\s]{1,8})?\\]");

    /** Probes of the entity that survive in the caller's text (empty = caught). */
    public static List<String> surviving(Entity e, String foldedOutputWithoutTokens) {
        List<String> left = new ArrayList<>();
        for (String p : e.probes()) {
            if (foldedOutputWithoutTokens.contains(p)) {
                left.add(p);
            }
        }
        return left;
    }

    public static String foldForScoring(String output) {
        return fold(MASK_TOKEN.matcher(output).replaceAll("\u0001"));
    }

    /** Printable form of a value: non-ASCII and invisible characters as \\uXXXX. */
    public static String show(String s) {
        StringBuilder b = new StringBuilder();
        for (char c : s.toCharArray()) {
            if (c >= 0x20 && c < 0x7f) {
                b.append(c);
            } else if (c == '\n') {
                b.append("\\n");
            } else {
                b.append(String.format("\\u%04X", (int) c));
            }
        }
        return b.toString();
    }

    // ---- the document builder --------------------------------------------------------------------------------

    static final class Doc {
        final Random r;
        final StringBuilder sb = new StringBuilder();
        final List<int[]> spans = new ArrayList<>();
        final List<Gen> gens = new ArrayList<>();
        final List<LookAlike> looks = new ArrayList<>();

        Doc(Random r) {
            this.r = r;
        }

        Doc t(String s) {
            sb.append(s);
            return this;
        }

        Doc e(Gen g) {
            int start = sb.length();
            sb.append(g.value());
            spans.add(new int[] {start, sb.length()});
            gens.add(g);
            return this;
        }

        Doc l(LookAlike l) {
            sb.append(l.value());
            looks.add(l);
            return this;
        }

        Answer build(int id) {
            if (gens.isEmpty()) {
                return null;
            }
            String text = sb.toString();
            List<Entity> ents = new ArrayList<>();
            for (int i = 0; i < gens.size(); i++) {
                Gen g = gens.get(i);
                List<String> probes = probes(g);
                String rest = fold(text.substring(0, spans.get(i)[0]) + "\u0000" + text.substring(spans.get(i)[1]));
                for (String p : probes) {
                    if (rest.contains(p) || "\u0001".contains(p)) {
                        return null;
                    }
                }
                ents.add(new Entity(g.type(), g.kind(), g.value(), probes));
            }
            for (LookAlike l : looks) {
                if (text.indexOf(l.value()) != text.lastIndexOf(l.value())) {
                    return null;
                }
            }
            return new Answer(id, text, List.copyOf(ents), List.copyOf(looks));
        }
    }

    // ---- random helpers ---------------------------------------------------------------------------------------

    static <T> T pick(Random r, List<T> items) {
        return items.get(r.nextInt(items.size()));
    }

    @SafeVarargs
    static <T> T pick(Random r, T... items) {
        return items[r.nextInt(items.length)];
    }

    /** Weighted choice: alternating weight, value. */
    static String weighted(Random r, Object... wv) {
        int total = 0;
        for (int i = 0; i < wv.length; i += 2) {
            total += (Integer) wv[i];
        }
        int x = r.nextInt(total);
        for (int i = 0; i < wv.length; i += 2) {
            x -= (Integer) wv[i];
            if (x < 0) {
                return (String) wv[i + 1];
            }
        }
        throw new IllegalStateException();
    }

    static String digits(Random r, int n) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < n; i++) {
            b.append((char) ('0' + r.nextInt(10)));
        }
        return b.toString();
    }

    static String nzDigits(Random r, int n) {
        return (char) ('1' + r.nextInt(9)) + digits(r, n - 1);
    }

    static String alnum(Random r, int n, String alphabet) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < n; i++) {
            b.append(alphabet.charAt(r.nextInt(alphabet.length())));
        }
        return b.toString();
    }

    static final String UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    static final String UPPER_DIGITS = UPPER + "0123456789";
    static final String ALNUM = UPPER + "abcdefghijklmnopqrstuvwxyz0123456789";
    static final String B64URL = ALNUM + "-_";
    static final String HEX = "0123456789abcdef";

    static int luhnDigit(String payload) {
        int sum = 0;
        boolean dbl = true;
        for (int i = payload.length() - 1; i >= 0; i--) {
            int d = payload.charAt(i) - '0';
            if (dbl) {
                d *= 2;
                if (d > 9) {
                    d -= 9;
                }
            }
            sum += d;
            dbl = !dbl;
        }
        return (10 - sum % 10) % 10;
    }

    static boolean luhnValid(String number) {
        return luhnDigit(number.substring(0, number.length() - 1)) == number.charAt(number.length() - 1) - '0';
    }

    static String luhnNumber(Random r, String prefix, int length) {
        String payload = prefix + digits(r, length - prefix.length() - 1);
        return payload + luhnDigit(payload);
    }

    static String fullWidth(String s) {
        StringBuilder b = new StringBuilder();
        for (char c : s.toCharArray()) {
            if (c == ' ') {
                b.append('\u3000');
            } else if (c > 0x20 && c < 0x7f) {
                b.append((char) (c + 0xFEE0));
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }

    static final String[] ZW = {"\u200B", "\u200C", "\u200D", "\u2060", "\uFEFF", "\u00AD"};

    /** Inserts one invisible character at a random interior position, between two letters or digits. */
    static String zeroWidth(Random r, String s) {
        List<Integer> spots = new ArrayList<>();
        for (int i = 1; i < s.length(); i++) {
            if (Character.isLetterOrDigit(s.charAt(i - 1)) && Character.isLetterOrDigit(s.charAt(i))) {
                spots.add(i);
            }
        }
        int at = spots.isEmpty() ? s.length() / 2 : pick(r, spots);
        return s.substring(0, at) + pick(r, ZW) + s.substring(at);
    }

    static String group(String digits, int[] groups, String sep) {
        StringBuilder b = new StringBuilder();
        int at = 0;
        for (int g : groups) {
            if (at >= digits.length()) {
                break;
            }
            if (at > 0) {
                b.append(sep);
            }
            b.append(digits, at, Math.min(digits.length(), at + g));
            at += g;
        }
        if (at < digits.length()) {
            b.append(sep).append(digits.substring(at));
        }
        return b.toString();
    }

    static int[] fours(int len) {
        int[] g = new int[(len + 3) / 4];
        java.util.Arrays.fill(g, 4);
        return g;
    }

    // ---- cards ------------------------------------------------------------------------------------------------

    /** Network, prefixes, lengths: from the networks' published IIN ranges. */
    static final Object[][] NETWORKS = {
            {"visa", new String[] {"4"}, new int[] {16, 16, 16, 16, 13, 19}},
            {"mastercard", new String[] {"51", "52", "53", "54", "55"}, new int[] {16}},
            {"mastercard-2series", new String[] {"2221", "2300", "2475", "2599", "2680", "2720"}, new int[] {16}},
            {"amex", new String[] {"34", "37"}, new int[] {15}},
            {"discover", new String[] {"6011", "644", "645", "649", "65"}, new int[] {16, 16, 19}},
            {"diners", new String[] {"300", "301", "305", "36", "38"}, new int[] {14}},
            {"jcb", new String[] {"3528", "3541", "3566", "3589"}, new int[] {16}},
            {"unionpay", new String[] {"62"}, new int[] {16, 19}},
            {"maestro", new String[] {"5018", "5020", "5038", "6304", "6759", "6761"}, new int[] {16, 19}},
            {"mir", new String[] {"2200", "2201", "2202", "2204"}, new int[] {16}},
    };

    static int[] cardGroups(String network, int len) {
        if (len == 15) {
            return new int[] {4, 6, 5};
        }
        if (len == 14) {
            return new int[] {4, 6, 4};
        }
        if (len == 13) {
            return new int[] {4, 4, 5};
        }
        return fours(len);
    }

    static Gen card(Random r) {
        int n = r.nextInt(100);
        Object[] net = NETWORKS[n < 28 ? 0 : n < 45 ? 1 : n < 50 ? 2 : n < 62 ? 3 : n < 68 ? 4 : n < 73 ? 5
                : n < 80 ? 6 : n < 87 ? 7 : n < 93 ? 8 : 9];
        String name = (String) net[0];
        String prefix = pick(r, (String[]) net[1]);
        int[] lens = (int[]) net[2];
        int len = lens[r.nextInt(lens.length)];
        String num = luhnNumber(r, prefix, len);
        int[] groups = cardGroups(name, len);
        String form = weighted(r, 14, "plain", 24, "space", 14, "dash", 7, "nbsp", 5, "nnbsp", 4, "thin",
                5, "endash", 3, "minus", 5, "fw-hyphen", 4, "fw-space", 3, "fw-plain", 6, "zw", 3, "zw-grouped",
                2, "emdash");
        String v = switch (form) {
            case "plain" -> num;
            case "space" -> group(num, groups, " ");
            case "dash" -> group(num, groups, "-");
            case "nbsp" -> group(num, groups, "\u00A0");
            case "nnbsp" -> group(num, groups, "\u202F");
            case "thin" -> group(num, groups, "\u2009");
            case "endash" -> group(num, groups, "\u2013");
            case "minus" -> group(num, groups, "\u2212");
            case "fw-hyphen" -> fullWidth(group(num, groups, "-"));
            case "fw-space" -> fullWidth(group(num, groups, " "));
            case "fw-plain" -> fullWidth(num);
            case "zw" -> zeroWidth(r, num);
            case "zw-grouped" -> zeroWidth(r, group(num, groups, " "));
            case "emdash" -> group(num, groups, "\u2014");
            default -> throw new IllegalStateException(form);
        };
        return new Gen(CARD, name + "/" + form, v, v);
    }

    // ---- SSNs -------------------------------------------------------------------------------------------------

    static String validSsnDigits(Random r) {
        int area;
        do {
            area = 1 + r.nextInt(899);
        } while (area == 666);
        return String.format("%03d%02d%04d", area, 1 + r.nextInt(99), 1 + r.nextInt(9999));
    }

    static Gen ssn(Random r) {
        String d = validSsnDigits(r);
        String form = weighted(r, 40, "dash", 10, "space", 10, "bare", 6, "nbsp", 6, "endash", 4, "minus",
                8, "fw", 6, "zw", 4, "fw-bare", 6, "dash-nocontext", 2, "emdash");
        int[] g = {3, 2, 4};
        String v = switch (form) {
            case "dash", "dash-nocontext" -> group(d, g, "-");
            case "space" -> group(d, g, " ");
            case "bare" -> d;
            case "nbsp" -> group(d, g, "\u00A0");
            case "endash" -> group(d, g, "\u2013");
            case "minus" -> group(d, g, "\u2212");
            case "emdash" -> group(d, g, "\u2014");
            case "fw" -> fullWidth(group(d, g, "-"));
            case "fw-bare" -> fullWidth(d);
            case "zw" -> zeroWidth(r, group(d, g, "-"));
            default -> throw new IllegalStateException(form);
        };
        return new Gen(SSN, form, v, v);
    }

    // ---- IBANs ------------------------------------------------------------------------------------------------

    /** Country, BBAN structure (n digits, a upper letters, c alphanumerics) per the IBAN registry. */
    static final String[][] IBAN_COUNTRIES = {
            {"NO", "4n6n1n"}, {"BE", "3n7n2n"}, {"NL", "4a10n"}, {"DK", "4n9n1n"}, {"FI", "3n11n"},
            {"FO", "4n9n1n"}, {"GL", "4n9n1n"}, {"SI", "5n8n2n"}, {"AT", "5n11n"}, {"EE", "2n2n11n1n"},
            {"LT", "5n11n"}, {"LU", "3n13c"}, {"KZ", "3n13c"}, {"XK", "4n10n2n"}, {"BA", "3n3n8n2n"},
            {"DE", "8n10n"}, {"GB", "4a6n8n"}, {"IE", "4a6n8n"}, {"BG", "4a4n2n8c"}, {"CR", "4n14n"},
            {"ME", "3n13n2n"}, {"RS", "3n13n2n"}, {"BH", "4a14c"}, {"GE", "2a16n"}, {"VA", "3n15n"},
            {"CH", "5n12c"}, {"LI", "5n12c"}, {"LV", "4a13c"}, {"HR", "7n10n"}, {"CZ", "4n6n10n"},
            {"ES", "4n4n1n1n10n"}, {"SE", "3n16n1n"}, {"SK", "4n6n10n"}, {"MD", "2c18c"}, {"PK", "4a16c"},
            {"RO", "4a16c"}, {"SA", "2n18c"}, {"TN", "2n3n13n2n"}, {"VG", "4a16n"}, {"AD", "4n4n12c"},
            {"PT", "4n4n11n2n"}, {"IS", "4n2n6n10n"}, {"TR", "5n1n16c"}, {"FR", "5n5n11c2n"},
            {"GR", "3n4n16c"}, {"IT", "1a5n5n12c"}, {"MC", "5n5n11c2n"}, {"SM", "1a5n5n12c"}, {"MR", "5n5n11n2n"},
            {"AL", "8n16c"}, {"AZ", "4a20c"}, {"CY", "3n5n16c"}, {"DO", "4a20n"}, {"GT", "4c20c"},
            {"HU", "3n4n1n15n1n"}, {"LB", "4n20c"}, {"PL", "8n16n"}, {"BY", "4c4n16c"}, {"SV", "4a20n"},
            {"BR", "8n5n10n1a1c"}, {"EG", "4n4n17n"}, {"PS", "4a21c"}, {"QA", "4a21c"}, {"UA", "6n19c"},
            {"JO", "4a4n18c"}, {"KW", "4a22c"}, {"MU", "4a2n2n12n3n3a"}, {"MT", "4a5n18c"}, {"SC", "4a2n2n16n3a"},
            {"LC", "4a24c"}, {"RU", "9n5n15c"}, {"AE", "3n16n"}, {"IL", "3n3n13n"}, {"GI", "4a15c"},
            {"MK", "3n10c2n"}, {"IQ", "4a3n12n"}, {"TL", "3n14n2n"}, {"LY", "3n3n15n"}, {"SD", "2n12n"},
            {"BI", "5n5n11n2n"}, {"DJ", "5n5n11n2n"}, {"FK", "2a12n"}, {"MN", "4n12n"}, {"NI", "4a20n"},
            {"OM", "3n16c"}, {"SO", "4n3n12n"}, {"YE", "4a4n18c"}, {"ST", "8n11n2n"}, {"HN", "4a20n"},
    };
    /** Countries an outsider meets most: weighted up. */
    static final List<String> COMMON_IBAN = List.of("DE", "FR", "NL", "BE", "NO", "GB", "ES", "IT", "MT", "LC",
            "CH", "AT", "PL", "SE", "DK", "FI", "IE", "PT");

    static String bban(Random r, String structure) {
        StringBuilder b = new StringBuilder();
        Matcher m = Pattern.compile("(\\d+)([nac])").matcher(structure);
        while (m.find()) {
            int n = Integer.parseInt(m.group(1));
            switch (m.group(2)) {
                case "n" -> b.append(digits(r, n));
                case "a" -> b.append(alnum(r, n, UPPER));
                default -> b.append(r.nextInt(3) == 0 ? alnum(r, n, UPPER_DIGITS) : digits(r, n));
            }
        }
        return b.toString();
    }

    static int mod97(String s) {
        StringBuilder num = new StringBuilder();
        for (char c : s.toCharArray()) {
            num.append(Character.isDigit(c) ? String.valueOf(c) : String.valueOf(c - 'A' + 10));
        }
        return new BigInteger(num.toString()).mod(BigInteger.valueOf(97)).intValue();
    }

    static String iban(Random r, String country, boolean valid) {
        String structure = null;
        for (String[] c : IBAN_COUNTRIES) {
            if (c[0].equals(country)) {
                structure = c[1];
            }
        }
        String bban = bban(r, structure);
        if (country.equals("BE")) {
            // the Belgian BBAN carries its own mod-97 check in the last two digits
            long head = Long.parseLong(bban.substring(0, 10));
            int chk = (int) (head % 97 == 0 ? 97 : head % 97);
            bban = bban.substring(0, 10) + String.format("%02d", chk);
        }
        int check = 98 - mod97(bban + country + "00");
        if (!valid) {
            check = (check + 1 + r.nextInt(96)) % 97;
            if (check < 2) {
                check += 2;
            }
            if (98 - mod97(bban + country + "00") == check) {
                check = check == 98 ? 2 : check + 1;
            }
        }
        return country + String.format("%02d", check) + bban;
    }

    static Gen iban(Random r) {
        String country = r.nextInt(2) == 0 ? pick(r, COMMON_IBAN) : IBAN_COUNTRIES[r.nextInt(IBAN_COUNTRIES.length)][0];
        String e = iban(r, country, true);
        String form = weighted(r, 25, "electronic", 30, "print", 8, "nbsp", 5, "nnbsp", 3, "thin", 6, "fw",
                4, "fw-print", 6, "zw", 4, "lower-print", 3, "dash");
        int[] g = fours(e.length());
        String v = switch (form) {
            case "electronic" -> e;
            case "print" -> group(e, g, " ");
            case "nbsp" -> group(e, g, "\u00A0");
            case "nnbsp" -> group(e, g, "\u202F");
            case "thin" -> group(e, g, "\u2009");
            case "fw" -> fullWidth(e);
            case "fw-print" -> fullWidth(group(e, g, " "));
            case "zw" -> zeroWidth(r, e);
            case "lower-print" -> group(e, g, " ").toLowerCase(Locale.ROOT);
            case "dash" -> group(e, g, "-");
            default -> throw new IllegalStateException(form);
        };
        return new Gen(IBAN, country + "/" + form, v, v);
    }

    // ---- emails -----------------------------------------------------------------------------------------------

    static final String[] FIRST = {"amelia", "noah", "sofia", "liam", "mateo", "yuki", "priya", "olu", "ingrid",
            "kwame", "chen", "fatima", "lucas", "zoe", "dmitri", "aisha", "hugo", "leila", "tomasz", "ines"};
    static final String[] LAST = {"okafor", "lindqvist", "moreau", "tanaka", "kowalski", "haddad", "fernandes",
            "vanderberg", "oconnell", "nakamura", "petrova", "schulze", "rossi", "garcia", "nguyen", "abara"};
    static final String[] DOMAINS = {"contoso.com", "fabrikam.de", "northwind-traders.co.uk", "mail.eu.acme-corp.io",
            "billing.fourthcoffee.org", "tailspintoys.example", "wingtip.museum", "cs.uni-heidelberg.example",
            "lists.adventure-works.net", "alpineski.ch", "litware.fr", "proseware.com.br", "wideworldimporters.com.au",
            "relecloud.technology", "ops.contoso-pharma.eu"};
    static final String[] IDN_DOMAINS = {"bücher-haus.de", "köln-messe.example", "例え.jp", "почта-россии.рф",
            "xn--bcher-kva.example", "xn--mller-kva.ch", "café-lumière.fr"};
    static final String[] IDN_LOCALS = {"jürgen", "zoë.müller", "иван.петров", "用户", "josé", "søren"};

    static Gen email(Random r) {
        String f = pick(r, FIRST), l = pick(r, LAST);
        String local = switch (r.nextInt(7)) {
            case 0 -> f + "." + l;
            case 1 -> f.charAt(0) + "." + l;
            case 2 -> f + "_" + l + r.nextInt(100);
            case 3 -> f + "." + l + "+" + pick(r, "newsletter", "billing", "github", "tag.sub", "2026");
            case 4 -> f + "-" + l + "+" + pick(r, "orders", "x");
            case 5 -> l + "." + f.charAt(0) + (1970 + r.nextInt(40));
            default -> f + l;
        };
        String domain = pick(r, DOMAINS);
        String form = weighted(r, 40, "plain", 8, "upper", 8, "angle", 6, "mailto", 10, "idn", 4, "punycode",
                6, "idn-local", 6, "fw", 6, "zw", 6, "subdomain-deep");
        String v = switch (form) {
            case "plain", "angle", "mailto" -> local + "@" + domain;
            case "upper" -> capitalize(f) + "." + capitalize(l) + "@" + domain.toUpperCase(Locale.ROOT);
            case "idn" -> local + "@" + pick(r, IDN_DOMAINS);
            case "punycode" -> local + "@xn--" + pick(r, "bcher-kva", "mnchen-3ya", "zrich-kva") + ".example";
            case "idn-local" -> pick(r, IDN_LOCALS) + r.nextInt(100) + "@" + pick(r, IDN_DOMAINS);
            case "fw" -> fullWidth(local + "@" + domain);
            case "zw" -> zeroWidth(r, local) + "@" + domain;
            case "subdomain-deep" -> local + "@" + pick(r, "eu", "us", "ap") + "." + pick(r, "mx", "corp", "dept")
                    + "." + domain;
            default -> throw new IllegalStateException(form);
        };
        String shown = switch (form) {
            case "angle" -> "<" + v + ">";
            case "mailto" -> "mailto:" + v;
            default -> v;
        };
        return new Gen(EMAIL, form, shown, v);
    }

    static String capitalize(String s) {
        return Character.toUpperCase(s.charAt(0)) + s.substring(1);
    }

    // ---- phones -----------------------------------------------------------------------------------------------

    static String nanpArea(Random r) {
        String a;
        do {
            a = (char) ('2' + r.nextInt(8)) + "" + r.nextInt(9) + r.nextInt(10);
        } while (a.charAt(1) == '1' && a.charAt(2) == '1');
        return a;
    }

    static String nanpExchange(Random r) {
        String e;
        do {
            e = (char) ('2' + r.nextInt(8)) + digits(r, 2);
        } while (e.endsWith("11") || e.equals("555"));
        return e;
    }

    /** [country, form label, value]. */
    static String[] phoneRaw(Random r) {
        int c = r.nextInt(15);
        String a, b, x;
        switch (c) {
            case 0, 1, 2 -> {
                a = nanpArea(r);
                b = nanpExchange(r);
                x = digits(r, 4);
                return switch (r.nextInt(8)) {
                    case 0 -> new String[] {"US", "e164", "+1" + a + b + x};
                    case 1 -> new String[] {"US", "intl", "+1 " + a + " " + b + " " + x};
                    case 2 -> new String[] {"US", "intl-dash", "+1-" + a + "-" + b + "-" + x};
                    case 3 -> new String[] {"US", "national-paren", "(" + a + ") " + b + "-" + x};
                    case 4 -> new String[] {"US", "national-dash", a + "-" + b + "-" + x};
                    case 5 -> new String[] {"US", "national-dot", a + "." + b + "." + x};
                    case 6 -> new String[] {"US", "one-paren", "1 (" + a + ") " + b + "-" + x};
                    default -> new String[] {"US", "intl-paren", "+1 (" + a + ") " + b + "-" + x};
                };
            }
            case 3 -> {
                boolean mobile = r.nextBoolean();
                String n = mobile ? "7" + (char) ('1' + r.nextInt(8)) + digits(r, 8) : "20" + (char) ('3' + r.nextInt(6)) + digits(r, 7);
                String intl = mobile ? "+44 " + n.substring(0, 4) + " " + n.substring(4) : "+44 20 " + n.substring(2, 6) + " " + n.substring(6);
                String nat = mobile ? "0" + n.substring(0, 4) + " " + n.substring(4) : "020 " + n.substring(2, 6) + " " + n.substring(6);
                return r.nextBoolean() ? new String[] {"GB", "intl", intl} : new String[] {"GB", "national", nat};
            }
            case 4 -> {
                boolean mobile = r.nextBoolean();
                String n = mobile ? "15" + (char) ('1' + r.nextInt(9)) + digits(r, 8) : "30" + nzDigits(r, 8);
                String head = mobile ? n.substring(0, 3) : "30";
                String tail = n.substring(head.length());
                return switch (r.nextInt(4)) {
                    case 0 -> new String[] {"DE", "intl", "+49 " + head + " " + tail};
                    case 1 -> new String[] {"DE", "national", "0" + head + " " + tail};
                    case 2 -> new String[] {"DE", "national-slash", "0" + head + "/" + tail};
                    default -> new String[] {"DE", "double-zero", "0049 " + head + " " + tail};
                };
            }
            case 5 -> {
                String n = pick(r, "1", "6", "7", "4") + digits(r, 8);
                String grouped = n.charAt(0) + " " + n.substring(1, 3) + " " + n.substring(3, 5) + " " + n.substring(5, 7) + " " + n.substring(7);
                return switch (r.nextInt(3)) {
                    case 0 -> new String[] {"FR", "intl", "+33 " + grouped};
                    case 1 -> new String[] {"FR", "national", "0" + grouped};
                    default -> new String[] {"FR", "national-dot", ("0" + grouped).replace(' ', '.')};
                };
            }
            case 6 -> {
                boolean mobile = r.nextBoolean();
                String n = mobile ? pick(r, "90", "80", "70") + "-" + digits(r, 4) + "-" + digits(r, 4) : "3-" + nzDigits(r, 4) + "-" + digits(r, 4);
                return r.nextBoolean() ? new String[] {"JP", "intl", "+81 " + n} : new String[] {"JP", "national", "0" + n};
            }
            case 7 -> {
                String n = pick(r, "9", "8", "7") + digits(r, 4) + " " + digits(r, 5);
                return r.nextBoolean() ? new String[] {"IN", "intl", "+91 " + n} : new String[] {"IN", "national", "0" + n};
            }
            case 8 -> {
                boolean mobile = r.nextBoolean();
                String n = mobile ? "4" + digits(r, 2) + " " + digits(r, 3) + " " + digits(r, 3) : pick(r, "2", "3", "7", "8") + " " + nzDigits(r, 4) + " " + digits(r, 4);
                return r.nextBoolean() ? new String[] {"AU", "intl", "+61 " + n} : new String[] {"AU", "national", mobile ? "0" + n : "(0" + n.charAt(0) + ") " + n.substring(2)};
            }
            case 9 -> {
                String n = "9" + digits(r, 4) + "-" + digits(r, 4);
                String ddd = pick(r, "11", "21", "31", "41", "61");
                return r.nextBoolean() ? new String[] {"BR", "intl", "+55 " + ddd + " " + n} : new String[] {"BR", "national", "(" + ddd + ") " + n};
            }
            case 10 -> {
                String n = "1" + pick(r, "3", "5", "8") + digits(r, 1) + " " + digits(r, 4) + " " + digits(r, 4);
                return r.nextBoolean() ? new String[] {"CN", "intl", "+86 " + n} : new String[] {"CN", "national", n.replace(" ", "")};
            }
            case 11 -> {
                String n = "9" + digits(r, 2);
                String rest = digits(r, 3) + "-" + digits(r, 2) + "-" + digits(r, 2);
                return r.nextBoolean() ? new String[] {"RU", "intl", "+7 " + n + " " + rest} : new String[] {"RU", "national", "8 (" + n + ") " + rest};
            }
            case 12 -> {
                String n = pick(r, "6", "7") + digits(r, 2) + " " + digits(r, 3) + " " + digits(r, 3);
                return new String[] {"ES", "intl", "+34 " + n};
            }
            case 13 -> {
                String n = digits(r, 8);
                return r.nextBoolean() ? new String[] {"NL", "intl", "+31 6 " + n} : new String[] {"NL", "national", "06-" + n};
            }
            default -> {
                String n = pick(r, "5", "6", "9") + digits(r, 3) + " " + digits(r, 4);
                return new String[] {"HK", "intl", "+852 " + n};
            }
        }
    }

    static Gen phone(Random r) {
        String[] p = phoneRaw(r);
        String form = weighted(r, 60, "ascii", 8, "fw", 6, "nbsp", 5, "endash", 6, "zw", 5, "tel-uri",
                5, "fw-compact", 3, "nnbsp");
        String v = switch (form) {
            case "ascii", "tel-uri" -> p[2];
            case "fw" -> fullWidth(p[2]);
            case "fw-compact" -> fullWidth(p[2].replaceAll("[^0-9+]", ""));
            case "nbsp" -> p[2].replace(' ', '\u00A0');
            case "nnbsp" -> p[2].replace(' ', '\u202F');
            case "endash" -> p[2].replace('-', '\u2013').replace(' ', '\u2013');
            case "zw" -> zeroWidth(r, p[2]);
            default -> throw new IllegalStateException(form);
        };
        if (form.equals("tel-uri")) {
            String compact = p[2].replaceAll("[^0-9+]", "");
            v = "tel:" + (compact.startsWith("+") ? compact : compact);
            return new Gen(PHONE, p[0] + "/" + p[1] + "/" + form, v, compact);
        }
        return new Gen(PHONE, p[0] + "/" + p[1] + "/" + form, v, v);
    }

    // ---- IP addresses -----------------------------------------------------------------------------------------

    static String ipv4(Random r) {
        return switch (r.nextInt(5)) {
            case 0 -> "10." + r.nextInt(256) + "." + r.nextInt(256) + "." + (1 + r.nextInt(254));
            case 1 -> "192.168." + r.nextInt(256) + "." + (1 + r.nextInt(254));
            case 2 -> "172." + (16 + r.nextInt(16)) + "." + r.nextInt(256) + "." + (1 + r.nextInt(254));
            default -> (11 + r.nextInt(212)) + "." + r.nextInt(256) + "." + r.nextInt(256) + "." + (1 + r.nextInt(254));
        };
    }

    static String hex4(Random r) {
        return Integer.toHexString(r.nextInt(0x10000));
    }

    static Gen ip(Random r) {
        if (r.nextInt(10) < 6) {
            String a = ipv4(r);
            String form = weighted(r, 50, "plain", 12, "port", 10, "url", 8, "fw", 6, "zw", 8, "log-kv", 6, "xff");
            String v = switch (form) {
                case "plain", "log-kv", "xff" -> a;
                case "port" -> a + ":" + (1024 + r.nextInt(60000));
                case "url" -> "http://" + a + ":8080/healthz";
                case "fw" -> fullWidth(a);
                case "zw" -> zeroWidth(r, a);
                default -> throw new IllegalStateException(form);
            };
            // the address is what must not survive; a port, a URL path or a zone id is not personal data
            return new Gen(IP, "v4/" + form, v, form.equals("fw") || form.equals("zw") ? v : a);
        }
        String form = weighted(r, 20, "full", 30, "compressed", 12, "link-local-zone", 10, "v4-mapped",
                12, "bracket-port", 8, "upper", 8, "fw");
        String[] g = new String[8];
        for (int i = 0; i < 8; i++) {
            g[i] = hex4(r);
        }
        String v = switch (form) {
            case "full" -> {
                StringBuilder b = new StringBuilder("2001:0db8");
                for (int i = 2; i < 8; i++) {
                    b.append(':').append(String.format("%4s", g[i]).replace(' ', '0'));
                }
                yield b.toString();
            }
            case "compressed", "fw" -> "2001:db8:" + g[2] + "::" + g[5] + ":" + g[6] + ":" + g[7];
            case "link-local-zone" -> "fe80::" + g[4] + ":" + g[5] + ":" + g[6] + ":" + g[7] + "%eth0";
            case "v4-mapped" -> "::ffff:" + ipv4(r);
            case "bracket-port" -> "[2600:1f18:" + g[2] + ":" + g[3] + "::" + g[7] + "]:443";
            case "upper" -> ("2a02:" + g[1] + ":" + g[2] + ":" + g[3] + "::" + g[7]).toUpperCase(Locale.ROOT);
            default -> throw new IllegalStateException(form);
        };
        if (form.equals("fw")) {
            v = fullWidth(v);
        }
        String address = switch (form) {
            case "link-local-zone" -> v.substring(0, v.indexOf('%'));
            case "v4-mapped" -> v.substring("::ffff:".length());
            case "bracket-port" -> v.substring(1, v.indexOf(']'));
            default -> v;
        };
        return new Gen(IP, "v6/" + form, v, address);
    }

    // ---- secrets ----------------------------------------------------------------------------------------------

    static String b64url(String s) {
        return java.util.Base64.getUrlEncoder().withoutPadding().encodeToString(s.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    static Gen secret(Random r) {
        String kind = weighted(r, 16, "aws", 12, "github", 5, "github-pat", 8, "slack", 10, "google", 10, "stripe",
                12, "openai", 8, "anthropic", 14, "jwt", 5, "pem");
        String prefix, body;
        switch (kind) {
            case "aws" -> {
                prefix = pick(r, "AKIA", "ASIA");
                body = alnum(r, 16, UPPER + "234567");
            }
            case "github" -> {
                prefix = pick(r, "ghp_", "gho_", "ghs_", "ghu_");
                body = alnum(r, 36, ALNUM);
            }
            case "github-pat" -> {
                prefix = "github_pat_";
                body = alnum(r, 22, ALNUM) + "_" + alnum(r, 59, ALNUM);
            }
            case "slack" -> {
                prefix = pick(r, "xoxb-", "xoxp-");
                body = nzDigits(r, 12) + "-" + nzDigits(r, 13) + "-" + alnum(r, 24, ALNUM);
            }
            case "google" -> {
                prefix = "AIza";
                body = alnum(r, 35, B64URL);
            }
            case "stripe" -> {
                prefix = pick(r, "sk_live_", "rk_live_");
                body = alnum(r, 24 + r.nextInt(76), ALNUM);
            }
            case "openai" -> {
                prefix = pick(r, "sk-proj-", "sk-");
                body = prefix.equals("sk-") ? alnum(r, 48, ALNUM) : alnum(r, 156, B64URL);
            }
            case "anthropic" -> {
                prefix = "sk-ant-api03-";
                body = alnum(r, 93, B64URL) + "AA";
            }
            case "jwt" -> {
                prefix = b64url("{\"alg\":\"" + pick(r, "HS256", "RS256", "ES256") + "\",\"typ\":\"JWT\"}") + ".";
                body = b64url("{\"sub\":\"" + alnum(r, 10, ALNUM) + "\",\"iat\":" + (1_700_000_000 + r.nextInt(90_000_000))
                        + ",\"scope\":\"" + pick(r, "read write", "admin", "openid profile") + "\"}") + "."
                        + alnum(r, 43, B64URL);
            }
            default -> {
                prefix = "-----BEGIN " + pick(r, "RSA ", "EC ", "OPENSSH ", "") + "PRIVATE KEY-----\n";
                StringBuilder b = new StringBuilder();
                for (int i = 0; i < 4 + r.nextInt(4); i++) {
                    b.append(alnum(r, 64, ALNUM + "+/")).append('\n');
                }
                b.append(alnum(r, 12 + r.nextInt(40), ALNUM + "+/")).append("==\n");
                body = b.toString();
                String end = prefix.replace("BEGIN", "END").trim();
                return new Gen(SECRET, kind, prefix + body + end, body);
            }
        }
        return new Gen(SECRET, kind, prefix + body, body);
    }

    static Gen anyEntity(Random r) {
        String t = weighted(r, 25, CARD, 10, SSN, 18, IBAN, 13, EMAIL, 17, PHONE, 10, IP, 7, SECRET);
        return of(r, t);
    }

    static Gen of(Random r, String type) {
        return switch (type) {
            case CARD -> card(r);
            case SSN -> ssn(r);
            case IBAN -> iban(r);
            case EMAIL -> email(r);
            case PHONE -> phone(r);
            case IP -> ip(r);
            default -> secret(r);
        };
    }

    // ---- look-alikes ------------------------------------------------------------------------------------------

    static LookAlike lookAlike(Random r) {
        String kind = weighted(r, 8, "version-5-6", 4, "version-4", 3, "dotted-run", 3, "oid",
                4, "epoch-s", 6, "epoch-ms-luhn", 3, "epoch-ms", 4, "epoch-us-luhn", 2, "epoch-ns", 3, "iso-ts",
                3, "order-id", 3, "amazon-order", 2, "sap-po", 3, "invoice", 3, "ups", 2, "usps", 2, "fedex",
                3, "uuid", 3, "git-sha", 2, "git-short", 2, "sha256", 3, "semver", 3, "money", 2, "money-large",
                3, "isbn13", 2, "isbn13-bare", 4, "imei", 2, "imei-dashed", 5, "ssn-invalid", 5, "luhn-no-network",
                3, "luhn-no-network-grouped", 5, "iban-bad-check", 2, "iban-bad-check-print", 2, "mac", 2, "cpp-scope",
                2, "pkg-at-version", 2, "bic", 2, "coords", 2, "windows-build", 2, "date-dotted", 2, "phone-like-sku");
        return lookAlike(r, kind);
    }

    static LookAlike lookAlike(Random r, String kind) {
        String v = switch (kind) {
            case "version-5-6" -> {
                int parts = 5 + r.nextInt(2);
                StringBuilder b = new StringBuilder();
                for (int i = 0; i < parts; i++) {
                    b.append(i == 0 ? "" : ".").append(r.nextInt(i == 0 ? 20 : 256));
                }
                yield b.toString();
            }
            case "version-4" -> r.nextInt(20) + "." + r.nextInt(30) + "." + (256 + r.nextInt(9000)) + "." + r.nextInt(300);
            case "dotted-run" -> r.nextInt(10) + "." + r.nextInt(10) + "." + r.nextInt(10) + "." + r.nextInt(10) + "."
                    + r.nextInt(10) + (r.nextBoolean() ? "" : "." + r.nextInt(100));
            case "oid" -> pick(r, "1.3.6.1.4.1.311.21." + r.nextInt(40), "1.2.840.113549.1.1." + r.nextInt(14),
                    "2.16.840.1.101.3.4.2." + r.nextInt(10), "1.3.6.1.2.1.2.2.1." + r.nextInt(22),
                    "1.3.6.1.4.1." + (1000 + r.nextInt(60000)) + "." + r.nextInt(10) + "." + r.nextInt(10));
            case "epoch-s" -> String.valueOf(1_600_000_000L + r.nextInt(200_000_000));
            case "epoch-ms-luhn" -> luhnNumber(r, "17", 13);
            case "epoch-ms" -> String.valueOf(1_600_000_000_000L + (long) (r.nextDouble() * 200_000_000_000L));
            case "epoch-us-luhn" -> luhnNumber(r, "17", 16);
            case "epoch-ns" -> "17" + digits(r, 17);
            case "iso-ts" -> String.format("20%02d-%02d-%02dT%02d:%02d:%02d.%03dZ", 20 + r.nextInt(7), 1 + r.nextInt(12),
                    1 + r.nextInt(28), r.nextInt(24), r.nextInt(60), r.nextInt(60), r.nextInt(1000));
            case "order-id" -> pick(r, "ORD-", "SO-", "#") + (20 + r.nextInt(7)) + "-" + digits(r, 6);
            case "amazon-order" -> pick(r, "111", "112", "113", "114") + "-" + digits(r, 7) + "-" + digits(r, 7);
            case "sap-po" -> "45000" + digits(r, 5);
            case "invoice" -> pick(r, "INV-", "RE-", "FA-") + (2020 + r.nextInt(7)) + pick(r, "-", "/") + digits(r, 5 + r.nextInt(3));
            case "ups" -> "1Z" + alnum(r, 6, UPPER_DIGITS) + digits(r, 10);
            case "usps" -> group("94" + digits(r, 20), new int[] {4, 4, 4, 4, 4, 2}, " ");
            case "fedex" -> "7" + digits(r, 11);
            case "uuid" -> java.util.UUID.nameUUIDFromBytes(digits(r, 20).getBytes()).toString();
            case "git-sha" -> alnum(r, 40, HEX);
            case "git-short" -> alnum(r, 7, HEX);
            case "sha256" -> alnum(r, 64, HEX);
            case "semver" -> "v" + r.nextInt(5) + "." + r.nextInt(40) + "." + r.nextInt(20)
                    + pick(r, "", "-rc." + r.nextInt(5), "-beta.2+build." + r.nextInt(900), "+sha." + alnum(r, 7, HEX));
            case "money" -> pick(r, "$" + (1 + r.nextInt(999)) + "," + String.format("%03d", r.nextInt(1000)) + "."
                            + String.format("%02d", r.nextInt(100)),
                    (1 + r.nextInt(999)) + "." + String.format("%03d", r.nextInt(1000)) + "," + String.format("%02d", r.nextInt(100)) + " €",
                    (1 + r.nextInt(999)) + "\u202F" + String.format("%03d", r.nextInt(1000)) + "\u202F" + String.format("%03d", r.nextInt(1000)) + ",00 €",
                    "CHF " + (1 + r.nextInt(999)) + "\u2019" + String.format("%03d", r.nextInt(1000)) + ".50",
                    "\u20B9" + (1 + r.nextInt(99)) + "," + String.format("%02d", r.nextInt(100)) + "," + String.format("%03d", r.nextInt(1000)) + ".00");
            case "money-large" -> {
                String d = nzDigits(r, 14);
                yield "$" + group(d, new int[] {2, 3, 3, 3, 3}, ",") + "." + digits(r, 2);
            }
            case "isbn13", "isbn13-bare" -> {
                String p = pick(r, "978", "979") + digits(r, 9);
                int sum = 0;
                for (int i = 0; i < 12; i++) {
                    sum += (p.charAt(i) - '0') * (i % 2 == 0 ? 1 : 3);
                }
                String full = p + (10 - sum % 10) % 10;
                yield kind.equals("isbn13") ? "ISBN " + full.substring(0, 3) + "-" + full.charAt(3) + "-" + full.substring(4, 7)
                        + "-" + full.substring(7, 12) + "-" + full.charAt(12) : full;
            }
            case "imei", "imei-dashed" -> {
                String i = luhnNumber(r, pick(r, "35", "86", "01", "99") + digits(r, 4), 15);
                yield kind.equals("imei") ? i : i.substring(0, 2) + "-" + i.substring(2, 8) + "-" + i.substring(8, 14) + "-" + i.charAt(14);
            }
            case "ssn-invalid" -> switch (r.nextInt(5)) {
                case 0 -> "000-" + String.format("%02d", 1 + r.nextInt(99)) + "-" + String.format("%04d", 1 + r.nextInt(9999));
                case 1 -> "666-" + String.format("%02d", 1 + r.nextInt(99)) + "-" + String.format("%04d", 1 + r.nextInt(9999));
                case 2 -> (900 + r.nextInt(100)) + "-" + String.format("%02d", 1 + r.nextInt(99)) + "-" + String.format("%04d", 1 + r.nextInt(9999));
                case 3 -> String.format("%03d", 1 + r.nextInt(665)) + "-00-" + String.format("%04d", 1 + r.nextInt(9999));
                default -> String.format("%03d", 1 + r.nextInt(665)) + "-" + String.format("%02d", 1 + r.nextInt(99)) + "-0000";
            };
            case "luhn-no-network" -> luhnNumber(r, pick(r, "1", "7", "9", "0"), 16);
            case "luhn-no-network-grouped" -> group(luhnNumber(r, pick(r, "1", "7", "9"), 16), fours(16), " ");
            case "iban-bad-check" -> iban(r, pick(r, COMMON_IBAN), false);
            case "iban-bad-check-print" -> group(iban(r, pick(r, COMMON_IBAN), false), fours(34), " ");
            case "mac" -> String.format("%02x:%02x:%02x:%02x:%02x:%02x", r.nextInt(256), r.nextInt(256), r.nextInt(256),
                    r.nextInt(256), r.nextInt(256), r.nextInt(256)).toUpperCase(Locale.ROOT);
            case "cpp-scope" -> pick(r, "std::collections::HashMap", "std::fmt::Display", "boost::asio::ip::tcp",
                    "Foo::bar::baz", "tokio::sync::mpsc");
            case "pkg-at-version" -> pick(r, "lodash", "react", "@babel/core", "typescript", "left-pad") + "@"
                    + r.nextInt(20) + "." + r.nextInt(30) + "." + r.nextInt(30);
            case "bic" -> pick(r, "DEUTDEFF", "COBADEFF", "BNPAFRPP", "INGBNL2A", "NDEANOKK", "GEBABEBB") + pick(r, "", "XXX", "500");
            case "coords" -> String.format(Locale.ROOT, "%.6f, %.6f", -60 + r.nextDouble() * 120, -170 + r.nextDouble() * 340);
            case "windows-build" -> "10.0." + (17763 + r.nextInt(9000)) + "." + (100 + r.nextInt(5000));
            case "date-dotted" -> String.format("%02d.%02d.%d", 1 + r.nextInt(28), 1 + r.nextInt(12), 2000 + r.nextInt(27));
            case "phone-like-sku" -> "SKU-" + digits(r, 3) + "-" + digits(r, 3) + "-" + alnum(r, 4, UPPER);
            default -> throw new IllegalStateException(kind);
        };
        return new LookAlike(kind, v);
    }

    /** A look-alike that stands right beside a strong context word of a real entity (no context bleed allowed). */
    static LookAlike contextNeighbour(Random r) {
        return switch (r.nextInt(3)) {
            case 0 -> new LookAlike("ctx-ticket-9digits", nzDigits(r, 9));
            case 1 -> new LookAlike("ctx-ref-16digits", luhnNumber(r, pick(r, "1", "7", "9"), 16));
            default -> new LookAlike("ctx-case-10digits", "45000" + digits(r, 5));
        };
    }

    // ---- words ------------------------------------------------------------------------------------------------

    static String label(String type, String lang, Gen g, Random r) {
        return switch (lang) {
            case "de" -> switch (type) {
                case CARD -> pick(r, "Kreditkarte", "Kartennummer", "Karte");
                case SSN -> "SSN";
                case IBAN -> pick(r, "IBAN", "Kontonummer (IBAN)");
                case EMAIL -> pick(r, "E-Mail", "Mail");
                case PHONE -> pick(r, "Telefon", "Tel.", "Mobil", "Rufnummer");
                case IP -> pick(r, "IP-Adresse", "Server");
                default -> pick(r, "API-Schlüssel", "Token");
            };
            case "fr" -> switch (type) {
                case CARD -> pick(r, "carte bancaire", "numéro de carte");
                case SSN -> "SSN";
                case IBAN -> pick(r, "IBAN", "RIB/IBAN");
                case EMAIL -> pick(r, "courriel", "e-mail");
                case PHONE -> pick(r, "téléphone", "portable", "tél.");
                case IP -> "adresse IP";
                default -> pick(r, "clé d'API", "jeton");
            };
            case "es" -> switch (type) {
                case CARD -> pick(r, "tarjeta", "número de tarjeta");
                case SSN -> "SSN";
                case IBAN -> "IBAN";
                case EMAIL -> pick(r, "correo", "correo electrónico");
                case PHONE -> pick(r, "teléfono", "móvil");
                case IP -> "dirección IP";
                default -> "clave de API";
            };
            case "ja" -> switch (type) {
                case CARD -> "クレジットカード番号";
                case SSN -> "SSN（社会保障番号）";
                case IBAN -> "IBAN";
                case EMAIL -> "メールアドレス";
                case PHONE -> pick(r, "電話番号", "携帯");
                case IP -> "IPアドレス";
                default -> "APIキー";
            };
            case "zh" -> switch (type) {
                case CARD -> "银行卡号";
                case SSN -> "SSN（社会安全号码）";
                case IBAN -> "IBAN账号";
                case EMAIL -> "邮箱";
                case PHONE -> pick(r, "手机号码", "电话");
                case IP -> "IP地址";
                default -> "API密钥";
            };
            case "ru" -> switch (type) {
                case CARD -> pick(r, "номер карты", "карта");
                case SSN -> "SSN";
                case IBAN -> "IBAN";
                case EMAIL -> pick(r, "почта", "e-mail");
                case PHONE -> pick(r, "телефон", "тел.");
                case IP -> "IP-адрес";
                default -> "ключ API";
            };
            default -> switch (type) {
                case CARD -> pick(r, "card number", "Visa/MC on file", "card", "PAN", "payment card");
                case SSN -> g != null && g.kind().equals("dash-nocontext") ? pick(r, "taxpayer ID", "reference")
                        : pick(r, "SSN", "Social Security number", "SSN#", "social security no.");
                case IBAN -> pick(r, "IBAN", "bank account (IBAN)", "account");
                case EMAIL -> pick(r, "email", "e-mail", "contact", "reply-to");
                case PHONE -> pick(r, "phone", "mobile", "tel", "call", "cell");
                case IP -> pick(r, "IP", "client address", "host", "source IP");
                default -> pick(r, "API key", "token", "credential", "secret");
            };
        };
    }

    static final String[] FILLER_EN = {
            "Sure, here is what I found in the records you shared.",
            "Let me know if anything needs correcting before we send it on.",
            "I have double-checked the formatting below.",
            "The rest of the profile looks complete.",
            "Please verify these details with the customer directly.",
            "Note that the migration ran overnight without errors. \u2705",
            "Happy to help further \uD83D\uDC4D",
            "I\u2019ve summarised the key points \u2014 nothing else stood out.",
            "According to the ticket history, the issue was escalated twice.",
            "The deployment notes are attached at the end.",
    };
    static final String[] FILLER_DE = {"Vielen Dank für Ihre Nachricht.", "Bitte prüfen Sie die Angaben sorgfältig.",
            "Die Überweisung wird in Kürze ausgeführt.", "Mit freundlichen Grüßen, Ihr Kundenservice \uD83D\uDE0A"};
    static final String[] FILLER_FR = {"Merci pour votre message.", "Veuillez vérifier ces informations.",
            "Le virement sera effectué sous 48 heures.", "Bien cordialement, l\u2019équipe support."};
    static final String[] FILLER_ES = {"Gracias por su mensaje.", "Por favor, verifique los datos.",
            "La transferencia se realizará pronto.", "Saludos cordiales \uD83D\uDE4F"};
    static final String[] FILLER_JA = {"お問い合わせありがとうございます。", "以下の内容をご確認ください。",
            "手続きは完了しました。", "よろしくお願いいたします。\uD83D\uDE47"};
    static final String[] FILLER_ZH = {"您好，感谢您的来信。", "请核对以下信息。", "转账将在两个工作日内完成。", "祝好！\uD83C\uDF89"};
    static final String[] FILLER_RU = {"Здравствуйте! Спасибо за обращение.", "Пожалуйста, проверьте данные.",
            "Перевод будет выполнен в ближайшее время.", "С уважением, служба поддержки."};

    static String filler(Random r, String lang) {
        return switch (lang) {
            case "de" -> pick(r, FILLER_DE);
            case "fr" -> pick(r, FILLER_FR);
            case "es" -> pick(r, FILLER_ES);
            case "ja" -> pick(r, FILLER_JA);
            case "zh" -> pick(r, FILLER_ZH);
            case "ru" -> pick(r, FILLER_RU);
            default -> pick(r, FILLER_EN);
        };
    }

    static String lookLead(Random r, LookAlike l) {
        return switch (l.kind()) {
            case "version-5-6", "version-4", "windows-build" -> pick(r, "build ", "version ", "firmware ", "agent v");
            case "dotted-run" -> pick(r, "section ", "rule ", "clause ");
            case "oid" -> pick(r, "OID ", "policy OID ", "object identifier ");
            case "epoch-s", "epoch-ms", "epoch-ms-luhn", "epoch-us-luhn", "epoch-ns" -> pick(r, "ts ", "timestamp=", "created_at: ", "epoch ");
            case "iso-ts" -> pick(r, "at ", "updated ", "");
            case "order-id", "amazon-order" -> pick(r, "order ", "Order #", "order id ");
            case "sap-po" -> "PO ";
            case "invoice" -> pick(r, "invoice ", "Rechnung ");
            case "ups", "usps", "fedex" -> pick(r, "tracking ", "tracking number ", "shipment ");
            case "uuid" -> pick(r, "request ", "trace id ", "uuid ");
            case "git-sha", "git-short" -> pick(r, "commit ", "fixed in ");
            case "sha256" -> pick(r, "sha256:", "checksum ");
            case "semver" -> pick(r, "release ", "upgrade to ");
            case "money", "money-large" -> pick(r, "total ", "amount ", "balance ");
            case "isbn13", "isbn13-bare" -> pick(r, "book ", "see ", "ISBN-13: ");
            case "imei", "imei-dashed" -> pick(r, "IMEI ", "device IMEI: ");
            case "ssn-invalid" -> pick(r, "SSN ", "SSN: ", "Social Security number ");
            case "luhn-no-network", "luhn-no-network-grouped" -> pick(r, "reference ", "account ref ", "loyalty no. ");
            case "iban-bad-check", "iban-bad-check-print" -> pick(r, "IBAN (mistyped, bounced): ", "invalid IBAN ");
            case "mac" -> "MAC ";
            case "cpp-scope" -> "uses ";
            case "pkg-at-version" -> "npm i ";
            case "bic" -> "BIC ";
            case "coords" -> "location ";
            case "date-dotted" -> "Datum ";
            case "phone-like-sku" -> "item ";
            default -> "";
        };
    }

    /** "label: value" in the answer's language, with the value placed as an entity. */
    static void labelled(Doc d, String lang, Gen g) {
        String sep = switch (lang) {
            case "ja" -> pick(d.r, "：", "は");
            case "zh" -> pick(d.r, "：", "是 ");
            default -> pick(d.r, ": ", " ", " is ", ": ");
        };
        d.t(label(g.type(), lang, g, d.r)).t(sep).e(g);
    }

    static void look(Doc d, LookAlike l) {
        d.t(lookLead(d.r, l)).l(l);
    }

    // ---- templates --------------------------------------------------------------------------------------------

    static final List<java.util.function.Consumer<Doc>> TEMPLATES = new ArrayList<>();

    static int nEnt(Random r) {
        return 1 + r.nextInt(3) + (r.nextInt(4) == 0 ? 1 : 0);
    }

    static int nLook(Random r) {
        return 1 + r.nextInt(2);
    }

    static void prose(Doc d, String lang) {
        Random r = d.r;
        d.t(filler(r, lang)).t(" ");
        int ne = nEnt(r), nl = nLook(r);
        List<Object> items = new ArrayList<>();
        for (int i = 0; i < ne; i++) {
            items.add(anyEntity(r));
        }
        for (int i = 0; i < nl; i++) {
            items.add(lookAlike(r));
        }
        java.util.Collections.shuffle(items, r);
        for (Object o : items) {
            if (o instanceof Gen g) {
                labelled(d, lang, g);
            } else {
                look(d, (LookAlike) o);
            }
            d.t(lang.equals("ja") || lang.equals("zh") ? "。" : pick(r, ". ", "; ", ", ", ".\n"));
            if (r.nextInt(3) == 0) {
                d.t(filler(r, lang)).t(" ");
            }
        }
        d.t(filler(r, lang));
    }

    static {
        for (String lang : List.of("en", "en", "en", "de", "fr", "es", "ja", "zh", "ru")) {
            TEMPLATES.add(d -> prose(d, lang));
        }
        // markdown bullet list
        TEMPLATES.add(d -> {
            Random r = d.r;
            d.t("Here is the customer record:\n\n");
            for (int i = 0, n = nEnt(r); i < n; i++) {
                Gen g = anyEntity(r);
                d.t("- **").t(capitalize(label(g.type(), "en", g, r))).t(":** ").e(g).t("\n");
            }
            for (int i = 0, n = nLook(r); i < n; i++) {
                LookAlike l = lookAlike(r);
                d.t("- ").t(capitalize(lookLead(r, l).trim())).t(" ").l(l).t("\n");
            }
            d.t("\n").t(filler(r, "en"));
        });
        // markdown table
        TEMPLATES.add(d -> {
            Random r = d.r;
            String t1 = pick(r, CARD, IBAN, PHONE, EMAIL, SSN);
            String t2 = pick(r, EMAIL, IP, PHONE, IBAN);
            d.t("| Name | ").t(capitalize(label(t1, "en", null, r))).t(" | ").t(capitalize(label(t2, "en", null, r)))
                    .t(" | Ref |\n|---|---|---|---|\n");
            int rows = 1 + r.nextInt(3);
            for (int i = 0; i < rows; i++) {
                d.t("| ").t(capitalize(pick(r, FIRST))).t(" ").t(capitalize(pick(r, LAST))).t(" | ");
                Gen a = of(r, t1);
                if (a.kind().equals("bare")) {
                    a = ssn(r);
                }
                d.e(a).t(" | ").e(of(r, t2)).t(" | ");
                if (r.nextBoolean()) {
                    d.l(lookAlike(r));
                } else {
                    d.t("n/a");
                }
                d.t(" |\n");
            }
            d.t("\n").t(filler(r, "en"));
        });
        // JSON code block
        TEMPLATES.add(d -> {
            Random r = d.r;
            d.t("```json\n{\n  \"customer\": {\n    \"name\": \"").t(capitalize(pick(r, FIRST))).t("\",\n");
            int n = nEnt(r);
            for (int i = 0; i < n; i++) {
                Gen g = anyEntity(r);
                if (g.value().contains("\n") || g.value().contains("\"")) {
                    g = card(r);
                }
                d.t("    \"").t(jsonKey(g, r)).t("\": \"").e(g).t("\",\n");
            }
            LookAlike l = lookAlike(r);
            d.t("    \"").t(pick(r, "build", "ref", "trace", "version")).t("\": \"").l(l).t("\",\n");
            d.t("    \"created\": ");
            d.l(new LookAlike("json-epoch-ms", luhnNumber(r, "17", 13))).t("\n  }\n}\n```\n").t(filler(r, "en"));
        });
        // environment / YAML with secrets
        TEMPLATES.add(d -> {
            Random r = d.r;
            d.t("Your `.env` should look like this (rotate these immediately, they were pasted in the chat):\n\n```\n");
            d.t("AWS_ACCESS_KEY_ID=").e(secret(r)).t("\n");
            d.t("APP_VERSION=").l(lookAlike(r)).t("\n");
            d.t("DB_HOST=").e(ip(r)).t("\n");
            if (r.nextBoolean()) {
                d.t("SUPPORT_EMAIL=").e(email(r)).t("\n");
            }
            d.t("```\n").t(filler(r, "en"));
        });
        // log lines
        TEMPLATES.add(d -> {
            Random r = d.r;
            d.t("Relevant log lines:\n\n```\n");
            int lines = 2 + r.nextInt(3);
            for (int i = 0; i < lines; i++) {
                d.l(new LookAlike("iso-ts", String.format("2026-%02d-%02dT%02d:%02d:%02d.%03dZ", 1 + r.nextInt(12),
                        1 + r.nextInt(28), r.nextInt(24), r.nextInt(60), r.nextInt(60), r.nextInt(1000))));
                d.t(pick(r, " INFO ", " WARN ", " ERROR ")).t("[req-").t(alnum(r, 6, "abcdefghjkmnpqrstuvwxyz")).t("] ");
                switch (r.nextInt(5)) {
                    case 0 -> d.t("client=").e(ip(r)).t(" user=").e(email(r));
                    case 1 -> d.t("payment declined pan=").e(card(r)).t(" ");
                    case 2 -> d.t("sms sent to=").e(phone(r));
                    case 3 -> d.t("agent=").l(lookAlike(r)).t(" latency_ms=").t(String.valueOf(r.nextInt(900)));
                    default -> d.t("auth header Bearer ").e(secret(r).kind().equals("pem") ? card(r) : secretNoPem(r));
                }
                d.t(" ts=").l(new LookAlike("log-epoch-ms", luhnNumber(r, "17", 13))).t("\n");
            }
            d.t("```\n").t(filler(r, "en"));
        });
        // python code
        TEMPLATES.add(d -> {
            Random r = d.r;
            d.t("```python\n# test fixture \u2014 do not commit real data\ncustomer = {\n");
            for (int i = 0, n = nEnt(r); i < n; i++) {
                Gen g = anyEntity(r);
                if (g.value().contains("\n")) {
                    g = iban(r);
                }
                d.t("    \"").t(jsonKey(g, r)).t("\": \"").e(g).t("\",\n");
            }
            d.t("}\nassert version == \"").l(lookAlike(r)).t("\"\n```\n");
        });
        // CSV
        TEMPLATES.add(d -> {
            Random r = d.r;
            d.t("```csv\nid,name,iban,phone,updated\n");
            int rows = 1 + r.nextInt(3);
            for (int i = 0; i < rows; i++) {
                d.t(String.valueOf(i + 1)).t(",").t(capitalize(pick(r, LAST))).t(",").e(iban(r)).t(",").e(phone(r)).t(",")
                        .l(lookAlike(r)).t("\n");
            }
            d.t("```");
        });
        // SQL
        TEMPLATES.add(d -> {
            Random r = d.r;
            d.t("```sql\nINSERT INTO customers (email, card, ssn, last_ip, build) VALUES ('").e(email(r)).t("', '")
                    .e(card(r)).t("', '").e(ssn(r)).t("', '").e(ip(r)).t("', '").l(lookAlike(r)).t("');\n```\n");
        });
        // German letter
        TEMPLATES.add(d -> {
            Random r = d.r;
            d.t("Sehr geehrte Frau ").t(capitalize(pick(r, LAST))).t(",\n\nbitte überweisen Sie den Betrag auf folgendes Konto:\n");
            d.t("IBAN: ").e(iban(r)).t("\nBIC: ").l(lookAlike(r, "bic")).t("\n");
            d.t("Rechnungsnummer ").l(lookAlike(r, "invoice")).t(", Datum ").l(lookAlike(r, "date-dotted")).t("\n");
            d.t("Bei Rückfragen erreichen Sie uns unter ").e(phone(r)).t(" oder per E-Mail an ").e(email(r)).t(".\n");
            d.t(filler(r, "de"));
        });
        // context bleed: a strong context word, then a true entity, then a neighbour that is NOT one
        TEMPLATES.add(d -> {
            Random r = d.r;
            Gen g = pick(r, ssn(r), card(r), iban(r), phone(r));
            d.t(label(g.type(), "en", g, r)).t(": ").e(g).t(". ").t(pick(r, "Support ticket ", "Case ", "Ref. "));
            d.l(contextNeighbour(r)).t(" was closed ").t(pick(r, "yesterday.", "on Monday.", "after review."));
        });
        // Japanese / Chinese form with full-width text
        TEMPLATES.add(d -> {
            Random r = d.r;
            d.t("【お客様情報】\n氏名：山田 太郎\n");
            d.t("電話番号：").e(phone(r)).t("\n");
            d.t("メール：").e(email(r)).t("\n");
            if (r.nextBoolean()) {
                d.t("カード：").e(card(r)).t("\n");
            }
            d.t("注文番号：").l(lookAlike(r)).t("\n").t(filler(r, "ja"));
        });
        // HTML
        TEMPLATES.add(d -> {
            Random r = d.r;
            d.t("<table>\n  <tr><td>Contact</td><td>").e(email(r)).t("</td></tr>\n  <tr><td>Phone</td><td>")
                    .e(phone(r)).t("</td></tr>\n  <tr><td>Build</td><td>").l(lookAlike(r)).t("</td></tr>\n</table>");
        });
        // curl example with a key and a version
        TEMPLATES.add(d -> {
            Random r = d.r;
            d.t("Try it:\n\n```bash\ncurl -H \"Authorization: Bearer ").e(secretNoPem(r)).t("\" \\\n  https://api.internal.example/v1/orders/")
                    .l(lookAlike(r)).t("\n```\nThe server at ").e(ip(r)).t(" answered.");
        });
    }

    static Gen secretNoPem(Random r) {
        Gen g;
        do {
            g = secret(r);
        } while (g.kind().equals("pem"));
        return g;
    }

    static String jsonKey(Gen g, Random r) {
        return switch (g.type()) {
            case CARD -> pick(r, "card_number", "pan", "cc");
            case SSN -> pick(r, "ssn", "social_security_number");
            case IBAN -> pick(r, "iban", "account_iban");
            case EMAIL -> pick(r, "email", "contact_email");
            case PHONE -> pick(r, "phone", "mobile");
            case IP -> pick(r, "last_login_ip", "ip");
            default -> pick(r, "api_key", "token");
        };
    }

    /** Quick self-check from the command line: counts per type and kind. */
    public static void main(String[] args) {
        List<Answer> all = generate(Long.parseLong(args.length > 0 ? args[0] : "9"), 560);
        java.util.Map<String, Integer> byType = new java.util.TreeMap<>();
        java.util.Map<String, Integer> byLook = new java.util.TreeMap<>();
        for (Answer a : all) {
            a.entities().forEach(e -> byType.merge(e.type(), 1, Integer::sum));
            a.lookAlikes().forEach(l -> byLook.merge(l.kind(), 1, Integer::sum));
        }
        System.out.println(byType + " total " + byType.values().stream().mapToInt(i -> i).sum());
        System.out.println(byLook + " total " + byLook.values().stream().mapToInt(i -> i).sum());
        for (int i = 0; i < 4; i++) {
            System.out.println("---- #" + i + "\n" + all.get(i).text());
        }
    }
}
