package attest.masking;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The accuracy benchmark: a generator of labelled text (realistic sentences with entities of every type in
 * every supported format, and look-alikes that must stay clean: order ids, timestamps, versions, Luhn-failing
 * numbers, invalid SSNs), scored for precision and recall per entity type, and streamed with random
 * chunking to count partial leaks. Writes target/masking-accuracy.md (see docs/masking.md).
 */
class MaskingAccuracyTest {
    static final int SAMPLES = 3000;
    static final Masker MASKER = new Masker(MaskingEngine.builtIn(), Map.of(), Action.REDACT,
            "k".repeat(32).getBytes(StandardCharsets.UTF_8));

    record Entity(String type, String value) {
    }

    record Sample(String text, List<int[]> spans, List<String> types) {
    }

    static final String[] OPENERS = {"Sure, here it is:", "As requested, the record shows", "I found", "Noted:",
        "The customer's file lists", "According to the ticket,", "Please verify"};
    static final String[] CLOSERS = {"Let me know if you need more.", "Is there anything else?", "Thanks.",
        "That is all I have.", "It was updated yesterday."};

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
            if (Validators.luhn(body + d)) {
                return body + d;
            }
        }
        throw new IllegalStateException();
    }

    static String group(String d, int... sizes) {
        StringBuilder sb = new StringBuilder();
        int at = 0;
        for (int s : sizes) {
            if (sb.length() > 0) {
                sb.append(' ');
            }
            sb.append(d, at, at + s);
            at += s;
        }
        return sb.toString();
    }

    static Entity card(Random r) {
        int kind = r.nextInt(3);
        String d = switch (kind) {
            case 0 -> luhnComplete("4", 16, r);
            case 1 -> luhnComplete("5" + (1 + r.nextInt(5)), 16, r);
            default -> luhnComplete(r.nextBoolean() ? "34" : "37", 15, r);
        };
        String grouped = kind == 2 ? group(d, 4, 6, 5) : group(d, 4, 4, 4, 4);
        String v = switch (r.nextInt(5)) {
            case 0 -> d;
            case 1 -> grouped;
            case 2 -> grouped.replace(' ', '-');
            case 3 -> grouped.replace(' ', '\u00A0');
            default -> fullWidth(grouped);
        };
        return new Entity("CARD", v);
    }

    static String fullWidth(String s) {
        StringBuilder sb = new StringBuilder();
        for (char c : s.toCharArray()) {
            sb.append(c >= '0' && c <= '9' ? (char) (c - '0' + 0xFF10) : c);
        }
        return sb.toString();
    }

    static Entity ssn(Random r) {
        while (true) {
            int area = 1 + r.nextInt(899);
            if (area == 666) {
                continue;
            }
            String d = String.format("%03d%02d%04d", area, 1 + r.nextInt(99), 1 + r.nextInt(9999));
            if (!Validators.ssn(d)) {
                continue;
            }
            String sep = r.nextInt(3) == 0 ? " " : "-";
            return new Entity("SSN", d.substring(0, 3) + sep + d.substring(3, 5) + sep + d.substring(5));
        }
    }

    static Entity iban(Random r) {
        String[][] countries = {{"DE", "18"}, {"GB", "18"}, {"FR", "23"}, {"NL", "14"}, {"ES", "20"}};
        String[] c = countries[r.nextInt(countries.length)];
        String bban = c[0].equals("GB") ? "WEST" + digits(r, 14) : c[0].equals("NL") ? "ABNA" + digits(r, 10)
                : digits(r, Integer.parseInt(c[1]));
        String numeric = (bban + c[0] + "00").chars().mapToObj(ch -> Character.isDigit(ch) ? String.valueOf((char) ch)
                : String.valueOf(ch - 'A' + 10)).reduce("", String::concat);
        int check = 98 - new BigInteger(numeric).mod(BigInteger.valueOf(97)).intValue();
        String iban = c[0] + String.format("%02d", check) + bban;
        if (r.nextBoolean()) {
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < iban.length(); i += 4) {
                sb.append(i == 0 ? "" : " ").append(iban, i, Math.min(iban.length(), i + 4));
            }
            iban = sb.toString();
        }
        return new Entity("IBAN", iban);
    }

    static Entity email(Random r) {
        String[] names = {"jane.doe", "j.smith", "ops+alerts", "k_lee", "maria.garcia", "x99"};
        String[] domains = {"example.com", "mail.example.org", "corp.example.co.uk", "example.io"};
        return new Entity("EMAIL", names[r.nextInt(names.length)] + r.nextInt(100) + "@" + domains[r.nextInt(domains.length)]);
    }

    static Entity phone(Random r) {
        String a = (2 + r.nextInt(8)) + digits(r, 2);
        String b = (2 + r.nextInt(8)) + digits(r, 2);
        String c = digits(r, 4);
        return new Entity("PHONE", switch (r.nextInt(5)) {
            case 0 -> "(" + a + ") " + b + "-" + c;
            case 1 -> a + "-" + b + "-" + c;
            case 2 -> "+1 " + a + " " + b + " " + c;
            case 3 -> "+44 20 " + digits(r, 4) + " " + digits(r, 4);
            default -> "+4930" + digits(r, 8);
        });
    }

    static Entity ip(Random r) {
        if (r.nextBoolean()) {
            return new Entity("IP_ADDRESS", (1 + r.nextInt(223)) + "." + r.nextInt(256) + "." + r.nextInt(256) + "."
                    + (1 + r.nextInt(254)));
        }
        String h = Integer.toHexString(r.nextInt(65535)) + ":" + Integer.toHexString(r.nextInt(65535));
        return new Entity("IP_ADDRESS", r.nextBoolean() ? "2001:db8::" + h : "fe80:0:0:0:" + h + ":1:2");
    }

    static Entity secret(Random r) {
        String alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        StringBuilder k = new StringBuilder();
        for (int i = 0; i < 40; i++) {
            k.append(alnum.charAt(r.nextInt(alnum.length())));
        }
        return new Entity("SECRET", switch (r.nextInt(4)) {
            case 0 -> "sk-proj-" + k;
            case 1 -> "AKIA" + k.substring(0, 16).toUpperCase();
            case 2 -> "ghp_" + k.substring(0, 36);
            default -> "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIx" + k.substring(0, 10) + "." + k.substring(10, 40);
        });
    }

    static String lookAlike(Random r) {
        return switch (r.nextInt(7)) {
            case 0 -> "order " + digits(r, 6 + r.nextInt(6));
            case 1 -> "at 2026-" + String.format("%02d-%02dT%02d:%02d:00Z", 1 + r.nextInt(12), 1 + r.nextInt(28),
                    r.nextInt(24), r.nextInt(60));
            case 2 -> "version " + r.nextInt(10) + "." + r.nextInt(20) + "." + r.nextInt(50);
            case 3 -> {
                String d = luhnComplete("4", 16, r);
                yield "ref " + d.substring(0, 15) + ((d.charAt(15) - '0' + 1) % 10);
            }
            case 4 -> "code " + (r.nextBoolean() ? "000" : "666") + "-" + digits(r, 2) + "-" + digits(r, 4);
            case 5 -> "ticket INC-" + digits(r, 7);
            default -> "amount " + digits(r, 3) + "," + digits(r, 3) + "." + digits(r, 2);
        };
    }

    static Sample sample(Random r) {
        StringBuilder text = new StringBuilder(OPENERS[r.nextInt(OPENERS.length)]).append(' ');
        List<int[]> spans = new ArrayList<>();
        List<String> types = new ArrayList<>();
        int parts = 1 + r.nextInt(3);
        for (int p = 0; p < parts; p++) {
            if (r.nextInt(3) == 0) {
                text.append(lookAlike(r)).append(", ");
                continue;
            }
            Entity e = switch (r.nextInt(7)) {
                case 0 -> card(r);
                case 1 -> ssn(r);
                case 2 -> iban(r);
                case 3 -> email(r);
                case 4 -> phone(r);
                case 5 -> ip(r);
                default -> secret(r);
            };
            String label = switch (e.type()) {
                case "SSN" -> "SSN ";
                case "CARD" -> "card ";
                case "PHONE" -> "phone ";
                default -> "";
            };
            text.append(label);
            spans.add(new int[] {text.length(), text.length() + e.value().length()});
            types.add(e.type());
            text.append(e.value()).append(r.nextBoolean() ? ", " : " and ");
        }
        text.append(lookAlike(r)).append(". ").append(CLOSERS[r.nextInt(CLOSERS.length)]);
        return new Sample(text.toString(), spans, types);
    }

    @Test
    void should_meet_the_accuracy_targets_and_never_leak_a_partial_entity_when_streamed() throws IOException {
        Random r = new Random(20261125);
        Map<String, int[]> counts = new TreeMap<>(); // tp, fp, fn
        int leaks = 0;
        for (int n = 0; n < SAMPLES; n++) {
            Sample s = sample(r);
            List<Finding> found = MASKER.engine().scan(s.text());
            boolean[] matched = new boolean[s.spans().size()];
            for (Finding f : found) {
                int hit = -1;
                for (int i = 0; i < s.spans().size(); i++) {
                    int[] sp = s.spans().get(i);
                    if (!matched[i] && s.types().get(i).equals(f.entityType()) && f.start() == sp[0] && f.end() == sp[1]) {
                        hit = i;
                    }
                }
                int[] c = counts.computeIfAbsent(f.entityType(), k -> new int[3]);
                if (hit >= 0) {
                    matched[hit] = true;
                    c[0]++;
                } else {
                    c[1]++;
                }
            }
            for (int i = 0; i < matched.length; i++) {
                if (!matched[i]) {
                    counts.computeIfAbsent(s.types().get(i), k -> new int[3])[2]++;
                }
            }
            // streamed with random chunking: everything released must equal the one-shot result
            String oneShot = MASKER.mask(s.text(), null, x -> { });
            StreamingTextMasker sm = new StreamingTextMasker(MASKER, null, x -> { });
            StringBuilder streamed = new StringBuilder();
            int at = 0;
            while (at < s.text().length()) {
                int len = 1 + r.nextInt(8);
                streamed.append(sm.push(s.text().substring(at, Math.min(s.text().length(), at + len))));
                at += len;
            }
            streamed.append(sm.finish());
            if (!streamed.toString().equals(oneShot)) {
                leaks++;
            }
        }
        StringBuilder table = new StringBuilder("| entity type | true positives | false positives | false negatives "
                + "| precision | recall |\n|---|---|---|---|---|---|\n");
        for (Map.Entry<String, int[]> e : counts.entrySet()) {
            int[] c = e.getValue();
            double precision = c[0] + c[1] == 0 ? 1 : (double) c[0] / (c[0] + c[1]);
            double recall = c[0] + c[2] == 0 ? 1 : (double) c[0] / (c[0] + c[2]);
            table.append(String.format("| %s | %d | %d | %d | %.4f | %.4f |%n", e.getKey(), c[0], c[1], c[2],
                    precision, recall));
        }
        table.append(String.format("%n%d samples, streamed with random chunks of 1 to 8 characters: %d partial leaks.%n",
                SAMPLES, leaks));
        Files.createDirectories(Path.of("target"));
        Files.writeString(Path.of("target/masking-accuracy.md"), table.toString());
        System.out.println(table);
        assertThat(leaks).isZero();
        for (Map.Entry<String, int[]> e : counts.entrySet()) {
            int[] c = e.getValue();
            assertThat((double) c[0] / (c[0] + c[2])).as("recall of %s", e.getKey()).isGreaterThanOrEqualTo(0.99);
            assertThat((double) c[0] / (c[0] + c[1])).as("precision of %s", e.getKey()).isGreaterThanOrEqualTo(0.98);
        }
    }
}
