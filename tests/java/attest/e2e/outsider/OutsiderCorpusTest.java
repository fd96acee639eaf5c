package attest.e2e.outsider;

import attest.e2e.outsider.OutsiderCorpus.Answer;
import attest.e2e.outsider.OutsiderCorpus.Entity;
import attest.e2e.outsider.OutsiderCorpus.LookAlike;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.List;
import java.util.Locale;

import static org.assertj.core.api.Assertions.assertThat;

/** The outsider corpus's labels are true: what it calls a card, an IBAN or an SSN is one, and its look-alikes are not. */
class OutsiderCorpusTest {
    static final List<Answer> CORPUS = OutsiderCorpus.generate(20261129L, 560);

    static String digitsOf(String value) {
        return OutsiderCorpus.fold(value).replaceAll("[^0-9]", "");
    }

    static String compact(String value) {
        return OutsiderCorpus.fold(value).replaceAll("[^0-9a-z]", "").toUpperCase(Locale.ROOT);
    }

    static boolean hasNetwork(String digits) {
        for (Object[] n : OutsiderCorpus.NETWORKS) {
            for (String prefix : (String[]) n[1]) {
                for (int len : (int[]) n[2]) {
                    if (digits.startsWith(prefix) && digits.length() == len) {
                        return true;
                    }
                }
            }
        }
        return false;
    }

    static int ibanLength(String country) {
        for (String[] c : OutsiderCorpus.IBAN_COUNTRIES) {
            if (c[0].equals(country)) {
                int n = 4;
                var m = java.util.regex.Pattern.compile("(\\d+)[nac]").matcher(c[1]);
                while (m.find()) {
                    n += Integer.parseInt(m.group(1));
                }
                return n;
            }
        }
        throw new AssertionError("no IBAN country " + country);
    }

    static boolean ssnValid(String d) {
        int area = Integer.parseInt(d.substring(0, 3));
        return d.length() == 9 && area != 0 && area != 666 && area < 900 && !d.substring(3, 5).equals("00")
                && !d.substring(5).equals("0000");
    }

    @Test
    void should_label_only_valid_cards_ssns_and_ibans_as_entities() {
        for (Answer a : CORPUS) {
            for (Entity e : a.entities()) {
                switch (e.type()) {
                    case OutsiderCorpus.CARD -> {
                        String d = digitsOf(e.value());
                        assertThat(OutsiderCorpus.luhnValid(d)).as("Luhn of %s", e.value()).isTrue();
                        assertThat(hasNetwork(d)).as("network prefix and length of %s", d).isTrue();
                    }
                    case OutsiderCorpus.SSN -> assertThat(ssnValid(digitsOf(e.value()))).as(e.value()).isTrue();
                    case OutsiderCorpus.IBAN -> {
                        String c = compact(e.value());
                        assertThat(OutsiderCorpus.mod97(c.substring(4) + c.substring(0, 4))).as(c).isEqualTo(1);
                        assertThat(c).hasSize(ibanLength(c.substring(0, 2)));
                    }
                    default -> assertThat(e.probes()).as("probes of %s", e.value()).isNotEmpty();
                }
            }
        }
    }

    @Test
    void should_make_look_alikes_that_are_not_entities() {
        int checked = 0;
        for (Answer a : CORPUS) {
            for (LookAlike l : a.lookAlikes()) {
                String d = digitsOf(l.value());
                switch (l.kind()) {
                    case "imei", "imei-dashed" -> {
                        assertThat(d).hasSize(15);
                        assertThat(OutsiderCorpus.luhnValid(d)).isTrue();
                        assertThat(hasNetwork(d)).isFalse();
                    }
                    case "epoch-ms-luhn", "json-epoch-ms", "log-epoch-ms", "epoch-us-luhn", "luhn-no-network",
                         "luhn-no-network-grouped", "ctx-ref-16digits" -> {
                        assertThat(OutsiderCorpus.luhnValid(d)).as(l.value()).isTrue();
                        assertThat(hasNetwork(d)).as(l.value()).isFalse();
                    }
                    case "ssn-invalid" -> assertThat(ssnValid(d)).as(l.value()).isFalse();
                    case "iban-bad-check", "iban-bad-check-print" -> {
                        String c = compact(l.value());
                        assertThat(c).hasSize(ibanLength(c.substring(0, 2)));
                        assertThat(OutsiderCorpus.mod97(c.substring(4) + c.substring(0, 4))).as(c).isNotEqualTo(1);
                    }
                    case "version-5-6" -> assertThat(l.value().split("\\.")).hasSizeBetween(5, 6);
                    case "dotted-run" -> assertThat(l.value().split("\\.")).hasSizeGreaterThanOrEqualTo(5);
                    default -> {
                        continue;
                    }
                }
                checked++;
            }
        }
        assertThat(checked).isGreaterThan(300);
    }

    @Test
    void should_be_the_same_corpus_for_the_same_seed() {
        assertThat(OutsiderCorpus.generate(20261129L, 560)).isEqualTo(CORPUS);
        assertThat(OutsiderCorpus.generate(7L, 50)).isNotEqualTo(CORPUS.subList(0, 50));
    }

    @Test
    void should_hold_every_required_shape() {
        String kinds = CORPUS.stream().flatMap(a -> a.entities().stream()).map(Entity::kind).distinct().sorted()
                .reduce("", (x, y) -> x + " " + y);
        assertThat(kinds).contains("NO/", "BE/", "NL/", "MT/", "LC/", "/nbsp", "/fw", "/zw", "/nnbsp", "/thin",
                "/endash", "/emdash", "/minus", "amex/", "jcb/", "diners/", "unionpay/", "maestro/", "mir/",
                "mastercard-2series/", "idn", "punycode", "US/e164", "DE/national", "JP/national", "v6/", "jwt", "aws");
    }

    /** The scoring rule itself: partial leaks count, the last four of a partial card do not. */
    @ParameterizedTest
    @CsvSource(delimiter = '|', textBlock = """
            5116-4863-2980-3416 | pay [CARD ****3416] now                    | true
            5116-4863-2980-3416 | ５１１６－４８６３－２９８０－[CARD ****3416] | false
            5116-4863-2980-3416 | pay 5116-4863-2980-[CARD ****3416]         | false
            NL29ARIA2456163018  | iban [IBAN].                               | true
            NL29ARIA2456163018  | iban NL29 ARIA 2456 1630 18                | false
            NL29ARIA2456163018  | iban NL29ARIA24\u200B56163018                   | false
            """)
    void should_count_a_partial_leak_as_a_miss(String value, String output, boolean caught) {
        var g = new OutsiderCorpus.Gen(OutsiderCorpus.CARD, "test", value, value);
        var e = new Entity(g.type(), g.kind(), g.value(), OutsiderCorpus.probes(g));
        assertThat(OutsiderCorpus.surviving(e, OutsiderCorpus.foldForScoring(output)).isEmpty()).isEqualTo(caught);
    }
}
