package attest.masking;

import com.google.re2j.Pattern;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@link MaskingEngine#scanFrom} finds exactly what {@link MaskingEngine#scan} finds past the offset, at every
 * offset of texts it was not written for: entities next to and inside each other, Unicode forms that normalise
 * to a different length, and a custom detector whose matches overlap the built-in ones (a finding left out
 * before the offset must never change which one wins after it).
 */
class ScanFromTest {
    static final String[] PIECES = {"4111 1111 1111 1111", "4111111111111111", "536-90-4399", "ssn ", "card: ",
        "DE89 3704 0044 0532 0130 00", "jane.doe@example.com", "+44 20 7946 0958", "(415) 555-2671", "192.168.10.7",
        "2001:db8::7334", "AKIAIOSFODNN7EXAMPLE", "sk-proj-abcdefghijklmnopqrstuvwxyz012345", "12345", "1.2.3",
        "２０２６", "４１１１ １１１１ １１１１ １１１１", "e\u0301", "\u200b", "😀", " ", "\n", "-", ".", "order ", "the ",
        "a", "Z", "|", ","};

    static MaskingEngine withOverlaps() {
        List<Detector> all = new ArrayList<>(BuiltInDetectors.all());
        // digits in fives, anywhere: overlaps cards, phones, IBANs and SSNs with a score of its own
        all.add(new Detector("five", "FIVE", Pattern.compile("[0-9]{5}"), s -> true, 0.95, List.of(), 0.5,
                Trigger.ALL, 0, 0, 0, 0, Integer.MAX_VALUE));
        all.add(new Detector("pair", "PAIR", Pattern.compile("[0-9]{4} [0-9]{4}"), s -> true, 0.99, List.of(), 0.5,
                Trigger.NUMERIC, 0, 0, 0, 0, Integer.MAX_VALUE));
        return new MaskingEngine(all);
    }

    @Test
    void should_find_past_the_offset_what_the_whole_scan_finds_there() {
        Random r = new Random(1130);
        int compared = 0;
        int found = 0;
        for (MaskingEngine engine : List.of(MaskingEngine.builtIn(), withOverlaps())) {
            for (int i = 0; i < 600; i++) {
                StringBuilder b = new StringBuilder();
                int n = 1 + r.nextInt(14);
                for (int k = 0; k < n; k++) {
                    b.append(PIECES[r.nextInt(PIECES.length)]);
                }
                String text = b.toString();
                List<Finding> whole = engine.scanned(text);
                for (int from = 0; from <= text.length(); from++) {
                    int f = from;
                    List<Finding> expected = whole.stream().filter(x -> x.end() > f).toList();
                    assertThat(engine.scanFrom(text, from)).as("%s from %d", text, from).isEqualTo(expected);
                    compared++;
                    found += expected.size();
                }
            }
        }
        assertThat(compared).isGreaterThan(50_000);
        assertThat(found).isGreaterThan(20_000);
    }
}
