package attest.evidence.chain;

import attest.VerifyCommand;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * An outside attack on receipts (docs/evidence-format.md 8.4), written without reading the verifier: the receipt of
 * entry 1 of section 7.3 under the second (format-2) checkpoint, with one member changed to a value of another JSON
 * type. Section 8.4: "Malformed JSON members are receipt_malformed"; both verifiers must refuse it, with one
 * verdict.
 */
class ReceiptHostileTest {
    static final ObjectMapper JSON = new ObjectMapper();

    @ParameterizedTest(name = "{0} = {1}")
    @CsvSource({"position, '\"1\"'", "tree_size, '\"2\"'", "leaf_index, '\"0\"'",
            "leaf_index, true", "record_id, 1", "chain_id, '[\"gw-example\"]'"})
    void should_refuse_a_receipt_whose_member_is_of_another_type(String member, String value) throws Exception {
        refused(r -> {
            try {
                r.set(member, JSON.readTree(value));
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
    }

    /**
     * Section 6.1 (hex is lower case everywhere, compared as written: upper case is a mismatch) applied to a
     * receipt's hex members. Node's {@code Buffer.from(x, 'hex')} stops at the first non-hex character, and Java's
     * {@code HexFormat} reads upper case: both turned these into the genuine bytes.
     */
    @ParameterizedTest(name = "{0}")
    @CsvSource({"signature in upper case", "signature followed by non-hex", "inclusion node in upper case",
            "inclusion node followed by non-hex"})
    void should_refuse_a_receipt_whose_hex_is_not_lower_case_hex(String change) throws Exception {
        refused(r -> {
            ObjectNode cp = (ObjectNode) r.path("checkpoint");
            com.fasterxml.jackson.databind.node.ArrayNode inclusion =
                    (com.fasterxml.jackson.databind.node.ArrayNode) r.path("inclusion");
            switch (change) {
                case "signature in upper case" -> cp.put("signature", cp.path("signature").asText().toUpperCase());
                case "signature followed by non-hex" -> cp.put("signature", cp.path("signature").asText() + "zz");
                case "inclusion node in upper case" -> inclusion.set(0, inclusion.get(0).asText().toUpperCase());
                case "inclusion node followed by non-hex" -> inclusion.set(0, inclusion.get(0).asText() + "g0");
                default -> throw new IllegalArgumentException(change);
            }
        });
    }

    /** The honest receipt of entry 1 verifies with both verifiers; after the change both refuse it, with one verdict. */
    static ExportForgeryHostileTest.Run refused(java.util.function.Consumer<ObjectNode> change) throws Exception {
        Path d = FormatVectorsMoreTest.exportDir(FormatVectorsTest.doc());
        List<String> entries = ExportForgeryHostileTest.read(d, ExportForgeryHostileTest.CHAIN);
        List<String> checkpoints = ExportForgeryHostileTest.read(d, ExportForgeryHostileTest.CHECKPOINTS);
        ObjectNode r = JSON.createObjectNode();
        r.put("format", 1).put("type", "receipt").put("record_id", "00000000-0000-4000-8000-000000000001")
                .put("chain_id", "gw-example").put("position", 1)
                .put("entry", Base64.getEncoder().encodeToString(entries.get(0).getBytes(StandardCharsets.UTF_8)))
                .put("leaf_index", 0).put("tree_size", 2);
        r.putArray("inclusion").add(HexFormat.of().formatHex(Merkle.leaf(entries.get(1).getBytes(StandardCharsets.UTF_8))));
        r.set("checkpoint", JSON.readTree(checkpoints.get(1)));
        Path key = Files.createTempFile("attest-receipt", ".pub");
        Files.writeString(key, ExportForgeryHostileTest.KEY + "\n");
        Path honest = Files.createTempFile("attest-receipt", ".json");
        Files.writeString(honest, r.toString());
        assertThat(java(honest, key).code()).as("the honest receipt").isZero();
        assertThat(node(honest, key).code()).as("the honest receipt, independent verifier").isZero();
        change.accept(r);
        Path changed = Files.createTempFile("attest-receipt", ".json");
        Files.writeString(changed, r.toString());
        ExportForgeryHostileTest.Run java = java(changed, key);
        ExportForgeryHostileTest.Run node = node(changed, key);
        assertThat(java.code()).as("attest verify --receipt: %s", java.output()).isEqualTo(1);
        assertThat(node.code()).as("independent verifier: %s", node.output()).isEqualTo(1);
        assertThat(ExportForgeryHostileTest.last(node.output())).isEqualTo(ExportForgeryHostileTest.last(java.output()));
        return java;
    }

    /**
     * An entry that is canonical JSON but not an object (an array, a string, a number): refused with a reason, never
     * an exception's class name (it was "receipt_malformed (ClassCastException)").
     */
    @ParameterizedTest(name = "entry {0}")
    @CsvSource(delimiter = '|', textBlock = """
            [1]
            "x"
            7
            null
            """)
    void should_refuse_an_entry_that_is_not_an_object_with_a_reason(String entry) throws Exception {
        ExportForgeryHostileTest.Run java = refused(r -> r.put("entry",
                Base64.getEncoder().encodeToString(entry.getBytes(StandardCharsets.UTF_8))));
        assertThat(java.output()).contains("not an object").doesNotContain("Exception");
    }

    static ExportForgeryHostileTest.Run java(Path receipt, Path key) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int code = VerifyCommand.run(new String[]{"--receipt", receipt.toString(), "--public-key", key.toString()},
                new PrintStream(out, true, StandardCharsets.UTF_8));
        return new ExportForgeryHostileTest.Run(code, out.toString(StandardCharsets.UTF_8));
    }

    static ExportForgeryHostileTest.Run node(Path receipt, Path key) throws Exception {
        Process p = new ProcessBuilder("node", "tests/independent-verifier/verify.mjs", "--receipt", receipt.toString(),
                key.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        return new ExportForgeryHostileTest.Run(p.exitValue(), out);
    }
}
