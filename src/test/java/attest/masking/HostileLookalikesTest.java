package attest.masking;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A second opinion on the detectors, written after them and apart from the accuracy corpus: published test
 * values (card networks' test numbers, the IBAN registry's examples) in forms the corpus does not use (quotes,
 * key=value, markdown tables, URLs, CIDR, other Unicode digit scripts and separators, bidi and word-joiner
 * characters), and look-alikes from real logs and answers (browser and OS build numbers, compact timestamps,
 * barcodes, coordinates, hashes, tracking numbers). Each true entity must be found whole, each look-alike left
 * alone.
 */
class HostileLookalikesTest {
    static final MaskingEngine ENGINE = MaskingEngine.builtIn();

    /** Networks' published test numbers (Luhn-valid) and their usual grouping. */
    static final String[][] CARDS = {
        {"4012888888881881", "4444"}, {"4035501000000008", "4444"}, {"5105105105105100", "4444"},
        {"5425233430109903", "4444"}, {"2223003122003222", "4444"}, {"2222420000001113", "4444"},
        {"371449635398431", "465"}, {"378734493671000", "465"}, {"6011111111111117", "4444"},
        {"3566002020360505", "4444"}, {"30569309025904", "464"}, {"38520000023237", "464"},
        {"6200000000000005", "4444"}, {"6759649826438453", "4444"}, {"6221260000000000", "4444"},
        {"4222222222222", "445"}};

    /** IBAN registry examples (valid check digits). */
    static final String[] IBANS = {"NL91ABNA0417164300", "NL29ARIA2456163018", "DE89370400440532013000",
        "GB29NWBK60161331926819", "FR1420041010050500013M02606", "BE68539007547034", "CH9300762011623852957",
        "NO9386011117947", "LC55HEMM000100010012001200023015", "RU0204452560040702810412345678901",
        "BI4210000100010000332045181", "MT84MALT011000012345MTLCAST001S", "BR1800360305000010009795493C1",
        "SC18SSCB11010000000000001497USD"};

    static String grouped(String d, String sizes, String sep) {
        StringBuilder sb = new StringBuilder();
        int at = 0;
        for (char c : sizes.toCharArray()) {
            int n = Math.min(c - '0', d.length() - at);
            if (n <= 0) {
                break;
            }
            if (sb.length() > 0) {
                sb.append(sep);
            }
            sb.append(d, at, at + n);
            at += n;
        }
        if (at < d.length()) {
            sb.append(sep).append(d, at, d.length());
        }
        return sb.toString();
    }

    static String script(String s, int zero) {
        return MaskingCorpus.digitForm(s, zero);
    }

    static String fullWidth(String s) {
        StringBuilder sb = new StringBuilder();
        for (char c : s.toCharArray()) {
            sb.append(c > 0x20 && c < 0x7F ? (char) (c - 0x20 + 0xFF00) : c);
        }
        return sb.toString();
    }

    /** Rows: type, text, the entity as written in the text. */
    static Stream<Arguments> entities() {
        List<Arguments> rows = new ArrayList<>();
        // digit scripts: Gujarati, Khmer, Myanmar, Telugu, Mongolian, N'Ko, Tamil, math monospace, double-struck
        int[] zeros = {0x0AE6, 0x17E0, 0x1040, 0x0C66, 0x1810, 0x07C0, 0x0BE6, 0x1D7F6, 0x1D7D8};
        String[] seps = {"\u2007", "\u205F", "\u2010", "\u2012", "\uFE63", "\uFE58", "\u2060", "\u00AD"};
        int k = 0;
        for (String[] c : CARDS) {
            String d = c[0];
            String g = c[1];
            rows.add(Arguments.of("CARD", "\"" + d + "\"", d));
            rows.add(Arguments.of("CARD", "pan=" + d + ";", d));
            rows.add(Arguments.of("CARD", "| " + grouped(d, g, " ") + " | visa |", grouped(d, g, " ")));
            String sep = seps[k % seps.length];
            rows.add(Arguments.of("CARD", "card: " + grouped(d, g, sep) + "!", grouped(d, g, sep)));
            String sc = script(grouped(d, g, " "), zeros[k % zeros.length]);
            rows.add(Arguments.of("CARD", "number " + sc + "?", sc));
            String bidi = grouped(d, g, "\u200E-");
            rows.add(Arguments.of("CARD", "(" + bidi + ")", bidi));
            k++;
        }
        String[] ibanSeps = {"\u2007", "\u205F", "\u00A0", "\u202F", "\u2009", "\u3000", " "};
        k = 0;
        for (String iban : IBANS) {
            String sp = grouped(iban, "44444444", ibanSeps[k % ibanSeps.length]);
            rows.add(Arguments.of("IBAN", "IBAN:" + iban, iban));
            rows.add(Arguments.of("IBAN", "pay to " + sp + " (EUR)", sp));
            rows.add(Arguments.of("IBAN", "'" + fullWidth(sp) + "'", fullWidth(sp)));
            k++;
        }
        String[][] phones = {{"call +1 (415) 555-2671 now", "+1 (415) 555-2671"}, {"tel:+14155552671", "+14155552671"},
            {"phone: 1-415-555-2671.", "1-415-555-2671"}, {"+44 20 7946 0958!", "+44 20 7946 0958"},
            {"+61 2 9876 5432", "+61 2 9876 5432"}, {"+49-30-12345678", "+49-30-12345678"},
            {"+353 1 234 5678", "+353 1 234 5678"}, {"+65 6123 4567", "+65 6123 4567"},
            {"+55 11 91234 5678", "+55 11 91234 5678"}, {"mobile \uFF0B\uFF14\uFF19\u3000\uFF11\uFF15\uFF11\uFF12\u3000"
                + "\uFF13\uFF14\uFF15\uFF16\uFF17\uFF18\uFF19", "\uFF0B\uFF14\uFF19\u3000\uFF11\uFF15\uFF11\uFF12\u3000"
                + "\uFF13\uFF14\uFF15\uFF16\uFF17\uFF18\uFF19"}, {"(212) 555\u20131234", "(212) 555\u20131234"},
            {"212\u2010555\u20101234", "212\u2010555\u20101234"}, {"\u200E+1 415 555 2671\u200E", "+1 415 555 2671"},
            {"0161 496 0000 is the office", "0161 496 0000"}, {"\"+33 6 12 34 56 78\"", "+33 6 12 34 56 78"}};
        for (String[] p : phones) {
            rows.add(Arguments.of("PHONE", p[0], p[1]));
        }
        String[][] ips = {{"http://10.1.2.3/path", "10.1.2.3"}, {"net 10.1.2.3/24 here", "10.1.2.3"},
            {"ip=172.16.254.1;", "172.16.254.1"}, {"'192.168.0.1'", "192.168.0.1"}, {"<192.168.0.1>", "192.168.0.1"},
            {"from 8.8.8.8, then", "8.8.8.8"}, {"2001:db8:0:0:1:0:0:1 up", "2001:db8:0:0:1:0:0:1"},
            {"[fe80::1]", "fe80::1"}, {"at 2001:DB8::ABCD now", "2001:DB8::ABCD"}, {"host=::1;", "::1"},
            {"\uFF11\uFF10\uFF0E\uFF10\uFF0E\uFF10\uFF0E\uFF11", "\uFF11\uFF10\uFF0E\uFF10\uFF0E\uFF10\uFF0E\uFF11"},
            {"peer 100.64.0.1:51820.", "100.64.0.1"}, {"ips: 10.0.0.1, 10.0.0.2", "10.0.0.1"},
            {"url https://[2001:db8::8]:8443/x", "2001:db8::8"}, {"GW 203.0.113.7!", "203.0.113.7"}};
        for (String[] p : ips) {
            rows.add(Arguments.of("IP_ADDRESS", p[0], p[1]));
        }
        String[][] ssns = {{"SSN#536-90-4399", "536-90-4399"}, {"ssn=536904399", "536904399"},
            {"SSN: \"536 90 4399\"", "536 90 4399"}, {"Social Security No. 536904399", "536904399"},
            {"SSN 536\u201090\u20104399", "536\u201090\u20104399"}, {"SSN 536\u200790\u20074399", "536\u200790\u20074399"},
            {"ssn " + script("536-90-4399", 0x0966), script("536-90-4399", 0x0966)},
            {"SSN (536-90-4399)", "536-90-4399"}, {"ssn:\u2066536-90-4399\u2069", "536-90-4399"},
            {"social-security 212-09-9876.", "212-09-9876"}};
        for (String[] p : ssns) {
            rows.add(Arguments.of("SSN", p[0], p[1]));
        }
        String[][] emails = {{"mailto:a@b.co", "mailto:a@b.co"}, {"<First.Last@Example.COM>", "First.Last@Example.COM"},
            {"\"ops+pager@corp.example.travel\"", "ops+pager@corp.example.travel"},
            {"cc: x_y-z@sub.sub.example.org;", "x_y-z@sub.sub.example.org"},
            {"jane\uFF20example\uFF0Ecom", "jane\uFF20example\uFF0Ecom"}};
        for (String[] p : emails) {
            rows.add(Arguments.of("EMAIL", p[0], p[1]));
        }
        return rows.stream();
    }

    static Stream<String> lookAlikes() {
        List<String> rows = new ArrayList<>(List.of(
                // versions and builds
                "Chrome 126.0.6478.126 is out", "Windows 10.0.19045.4529", "release 1.2.3.4.5.6", "v1.10.100.1000",
                "OpenSSL 3.0.13.1.2", "build 2024.10.1.2.3", "kernel 6.8.0.45.1", "pkg 0.0.0.0.1", "rev 4.4.4.4.4",
                "fw 10.20.30.40.50", "api/v2.1.3.4.5/x", "1.6.3.7.5-beta", "ver.1.2.3.4.5", "node v20.11.1.2.3",
                "\uFF11\uFF0E\uFF16\uFF0E\uFF13\uFF0E\uFF17\uFF0E\uFF15",
                // timestamps
                "ts 1719557306", "ts 1719557306044", "ts 1719557306044123", "ts 1719557306044123456",
                "at 2024-06-28T06:48:26.044Z", "at 2024-06-28 06:48:26,044", "stamp 20240628064826044",
                "stamp 20240628064826", "date 28/06/2024", "date 2024.06.28", "time 06:48:26", "t=1719557306.044",
                "epoch \uFF11\uFF17\uFF11\uFF19\uFF15\uFF15\uFF17\uFF13\uFF10\uFF16\uFF10\uFF14\uFF14",
                // ids, hashes, codes
                "order ORD-2024-000123456", "order #100023456789", "PO 4500012345", "ticket JIRA-12345",
                "uuid 550e8400-e29b-41d4-a716-446655440000", "uuid 12345678-1234-5678-1234-567812345678",
                "sha d2d2d2e3f0a1b2c3d4e5f60718293a4b5c6d7e8f", "md5 9e107d9d372bb6826bd81d3542a419d6",
                "commit 9fceb02", "b64 dGhpcyBpcyBub3QgYSBrZXk=", "tracking 1Z999AA10123456784",
                "ean 4006381333931", "isbn 0-306-40615-2", "issn 2049-3630", "sort code 20-00-00",
                "account 31926819", "room 1234-567", "ext. 12345", "SN 1234-5678-90", "part 300-0012-3456-78",
                // numbers, amounts, coordinates
                "pi 3.14159265358979", "e 2.718281828459045", "total 1,000,000,000,000", "EUR 1.234.567,89",
                "USD 12,345,678.90", "1 234 567,89 \u20AC", "at 52.3676, 4.9041", "lat 40.7128 lon -74.0060",
                "ratio 0.1234567890123", "count 4294967295", "max 9223372036854775807", "big 18446744073709551615",
                // invalid SSNs
                "ssn 000-45-6789", "ssn 666-45-6789", "ssn 900-45-6789", "ssn 999-45-6789", "ssn 123-00-6789",
                "ssn 123-45-0000", "ssn 000 45 6789", "ssn 666.45.6789", "ssn 078-05-1120", "ssn 111-11-1111",
                "SSN is below. Order 536904399", "the SSN field is empty; order 536904398",
                // phone-like serials
                "(123) 456-7890", "123-456-7890", "+1 123 456 7890", "+1 212 055 1234", "1-800-FLOWERS",
                "serial 123-045-6789", "call 911", "555-1234", "+0 123 456 7890", "model 5551234567",
                // IBAN-like
                "NL91ABNA0417164301", "XX91ABNA0417164300", "NL91ABNA041716430", "DE8937040044053201300",
                "GB29 NWBK 6016 1331 9268 1", "ZZ12 3456 7890 1234 56", "NL91 ABNA 0417 1643 01",
                // IP-like
                "256.1.1.1", "1.2.3.999", "01.02.03.04", "1.2.3", "10.0.0.1.2", "v10.0.0.1", "10.0.0.1a",
                "a:b", "12:30:45", "de:ad:be:ef:00:01", "::", "Foo::Bar", "1::2::3", "std::chrono::ms",
                "fe80:::1", "a::b::c", "11:22:33:44:55:66:77", "Time 10:20:30.40",
                // card-like
                "1234 5678 9012 3456", "0000 0000 0000 0000", "4111 1111 1111 1112", "3782 822463 10006",
                "9999 9999 9999 9995", "1 2 3 4 5 6 7 8 9 0 1 2 3 4", "4-1-1-1-1-1-1-1-1-1-1-1-1",
                "4111_1111_1111_1111", "id_4012888888881881", "x4012888888881881", "4012888888881881x",
                "4012.8888.8888.1881.2", "2.4012.8888.8888.1881", "1-4012-8888-8888-1881"));
        // Luhn-valid numbers that no network issues (prefixes 0, 1, 7, 8, 9) or at a length it does not issue
        String[] bodies = {"171955730604", "100000000000", "700000000000000", "812345678901234", "90000000000000000",
            "012345678901234", "41234567890123", "5123456789012345", "3712345678901", "60111234567890",
            "35281234567890", "30012345678901234", "361234567890123456", "6212345678901", "22211234567890"};
        for (String b : bodies) {
            rows.add("number " + luhnComplete(b));
            rows.add("ref " + luhnComplete(b) + " ok");
        }
        // epoch milliseconds of the last years, with Luhn passing by chance
        long ms = 1_500_000_000_000L;
        while (rows.size() < 190) {
            String s = Long.toString(ms);
            if (Validators.luhn(s)) {
                rows.add("ts " + s);
            }
            ms += 77_777_777L;
        }
        return rows.stream();
    }

    static String luhnComplete(String body) {
        for (int d = 0; d < 10; d++) {
            if (Validators.luhn(body + d)) {
                return body + d;
            }
        }
        throw new IllegalStateException(body);
    }

    @ParameterizedTest(name = "{0}: {1}")
    @MethodSource("entities")
    void should_find_the_whole_entity_in_a_form_the_corpus_does_not_use(String type, String text, String entity) {
        List<Finding> found = ENGINE.scan(text);
        assertThat(found).as("findings in '%s'", text).isNotEmpty();
        Finding f = found.get(0);
        assertThat(f.entityType()).as("type in '%s'", text).isEqualTo(type);
        assertThat(text.substring(f.start(), f.end())).as("span in '%s'", text).isEqualTo(entity);
    }

    @ParameterizedTest(name = "clean: {0}")
    @MethodSource("lookAlikes")
    void should_leave_a_look_alike_alone(String text) {
        assertThat(ENGINE.scan(text)).as("findings in '%s'", text).isEmpty();
    }

    @Test
    void should_hold_at_least_150_entities_and_150_look_alikes() {
        assertThat(entities().count()).isGreaterThanOrEqualTo(150);
        assertThat(lookAlikes().count()).isGreaterThanOrEqualTo(150);
    }
}
