package attest.masking;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@link MaskingEngine#scan} remembers short texts that scanned clean and skips scanning them again. Remembered or
 * not, every text must get exactly the findings of a full scan: texts one character away from an entity, the
 * entity itself after its clean neighbour was remembered, texts that share a slot, and the same texts again in
 * another order.
 */
class CleanScanMemoryTest {
    static final String[] ENTITIES = {"4111 1111 1111 1111", "536-90-4399", "DE89 3704 0044 0532 0130 00",
        "jane.doe@example.com", "+44 20 7946 0958", "192.168.10.7", "2001:db8:85a3::8a2e:370:7334",
        "sk-proj-abcdefghijklmnopqrstuvwxyz012345", "AKIAIOSFODNN7EXAMPLE"};

    @Test
    void gives_every_text_the_findings_of_a_full_scan_whether_remembered_or_not() {
        MaskingEngine engine = MaskingEngine.builtIn();
        Random random = new Random(1024);
        List<String> texts = new ArrayList<>();
        for (String e : ENTITIES) {
            texts.add(e);
            texts.add(e.substring(0, e.length() - 1)); // one short: clean, or another entity
            texts.add(e.substring(1));
            texts.add("id " + e);
            texts.add(e.replace('1', 'l'));
        }
        texts.addAll(List.of("chat.completion.chunk", "chatcmpl-1", "gpt-4o-mini", "fp_44709d6fcb", "", " ", "stop",
                "x".repeat(MaskingEngine.CLEAN_MAX), "x".repeat(MaskingEngine.CLEAN_MAX + 1)));
        for (int i = 0; i < 3_000; i++) { // random digit and letter runs: many share a slot of the 1,024
            StringBuilder b = new StringBuilder();
            int n = 1 + random.nextInt(30);
            for (int k = 0; k < n; k++) {
                b.append("0123456789 -.@abcXYZ".charAt(random.nextInt(20)));
            }
            texts.add(b.toString());
        }
        int found = 0;
        for (int round = 0; round < 3; round++) {
            Collections.shuffle(texts, random);
            for (String t : texts) {
                List<Finding> expected = engine.scanned(t);
                assertThat(engine.scan(t)).as("round %d: %s", round, t).isEqualTo(expected);
                found += expected.isEmpty() ? 0 : 1;
            }
        }
        assertThat(found).as("texts with findings among them").isGreaterThan(3 * ENTITIES.length);
    }

    @Test
    void never_takes_an_entity_for_the_clean_text_it_shares_a_slot_or_a_prefix_with() {
        MaskingEngine engine = MaskingEngine.builtIn();
        assertThat(engine.scan("4111 1111 1111 111")).isEmpty();
        assertThat(engine.scan("4111 1111 1111 111")).isEmpty();
        assertThat(engine.scan("4111 1111 1111 1111")).extracting(Finding::entityType).containsExactly("CARD");
        assertThat(engine.scan("4111 1111 1111 1111")).extracting(Finding::entityType).containsExactly("CARD");
        // the returned lists are the caller's own
        engine.scan("plain").add(new Finding("X", 0, 1, 1.0, "test"));
        assertThat(engine.scan("plain")).isEmpty();
    }
}
