package attest.evidence.chain;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.PublicKey;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Reproduces sections 7.2 to 7.5 of docs/evidence-format.md from the document's own text: the second
 * checkpoint, the whole export directory (VALID), every row of the tampering table, and the Merkle proofs.
 */
class FormatVectorsMoreTest {
    static final HexFormat HEX = HexFormat.of();
    static final ObjectMapper JSON = new ObjectMapper();
    static final PublicKey KEY = key();

    static PublicKey key() {
        try {
            return KeyFileSigner.publicKey("MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
        } catch (java.security.GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    static String block(String doc, String label) {
        int at = doc.indexOf(label);
        assertThat(at).as(label).isNotNegative();
        int open = doc.indexOf("```\n", at) + 4;
        return doc.substring(open, doc.indexOf("\n```", open));
    }

    static String value(String doc, String label) {
        Matcher m = Pattern.compile(Pattern.quote(label) + "\\s*`([0-9a-f]+)`").matcher(doc);
        assertThat(m.find()).as(label).isTrue();
        return m.group(1);
    }

    @Test
    void should_reproduce_the_second_checkpoint_and_the_tree_head_of_the_two_entries() throws Exception {
        String doc = FormatVectorsTest.doc();
        List<String> blocks = FormatVectorsTest.blocks(doc);
        byte[] e1 = blocks.get(0).getBytes(StandardCharsets.UTF_8);
        byte[] e2 = blocks.get(1).getBytes(StandardCharsets.UTF_8);
        assertThat(HEX.formatHex(Merkle.leaf(e1))).isEqualTo(value(doc, "`leaf(1)` ="));
        assertThat(HEX.formatHex(Merkle.leaf(e2))).isEqualTo(value(doc, "`leaf(2)` ="));
        byte[] root = Merkle.node(Merkle.leaf(e1), Merkle.leaf(e2));
        assertThat(HEX.formatHex(root)).isEqualTo(value(doc, "`root(2)` ="));
        byte[] cp2 = block(doc, "Signed bytes:").getBytes(StandardCharsets.UTF_8);
        assertThat(Canonical.isCanonical(cp2)).isTrue();
        @SuppressWarnings("unchecked")
        Map<String, Object> body = (Map<String, Object>) Canonical.parse(cp2);
        assertThat(body.get("root")).isEqualTo(HEX.formatHex(root));
        assertThat(body.get("previous")).isEqualTo(HEX.formatHex(ChainHash.checkpoint(blocks.get(2)
                .getBytes(StandardCharsets.UTF_8))));
        assertThat(body.get("head")).isEqualTo(HEX.formatHex(ChainHash.link(ChainHash.link(ChainHash.GENESIS, e1), e2)));
        assertThat(KeyFileSigner.verify(KEY, cp2, HEX.parseHex(value(doc, "second signature =")))).isTrue();
        assertThat(HEX.formatHex(ChainHash.checkpoint(cp2))).isEqualTo(value(doc, "second checkpoint hash ="));
    }

    static Path exportDir(String doc) throws Exception {
        Path d = Files.createTempDirectory("attest-vector-export");
        for (String f : List.of("chains/gw-example.jsonl", "checkpoints/gw-example.jsonl", "keys/06e3fd8fda29bb60.pub",
                "keys/fingerprints.txt")) {
            Files.createDirectories(d.resolve(f).getParent());
            Files.writeString(d.resolve(f), block(doc, "File `" + f + "`:") + "\n");
        }
        Files.writeString(d.resolve("manifest.json"), block(doc, "File `manifest.json`:"));
        return d;
    }

    static Verifier.Report verify(Path d, boolean withKey) {
        Map<String, PublicKey> keys = withKey ? Map.of(KeyFileSigner.keyId(KEY), KEY) : Map.of();
        return new Verifier(keys).verify(Export.read(d), new Verifier.Options(Instant.parse("2026-11-25T10:00:00Z"),
                Instant.parse("2026-11-25T10:00:10Z"), 5_000, 10_000, List.of()));
    }

    static void reseal(Path d) throws Exception {
        ObjectNode m = (ObjectNode) JSON.readTree(d.resolve("manifest.json").toFile());
        ObjectNode files = m.putObject("files");
        for (String f : List.of("chains/gw-example.jsonl", "checkpoints/gw-example.jsonl", "keys/06e3fd8fda29bb60.pub",
                "keys/fingerprints.txt")) {
            files.put(f, HEX.formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(d.resolve(f)))));
        }
        Files.writeString(d.resolve("manifest.json"), m.toString());
    }

    static void lines(Path f, UnaryOperator<List<String>> change) throws Exception {
        List<String> l = new ArrayList<>(Files.readAllLines(f));
        Files.writeString(f, String.join("\n", change.apply(l)) + "\n");
    }

    @Test
    void should_verify_the_published_export_directory_and_its_manifest_digests() throws Exception {
        String doc = FormatVectorsTest.doc();
        Path d = exportDir(doc);
        JsonNode files = JSON.readTree(d.resolve("manifest.json").toFile()).path("files");
        files.fields().forEachRemaining(e -> {
            try {
                assertThat(HEX.formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(
                        d.resolve(e.getKey()))))).as(e.getKey()).isEqualTo(e.getValue().asText());
            } catch (Exception ex) {
                throw new AssertionError(ex);
            }
        });
        Verifier.Report r = verify(d, true);
        assertThat(r.summary()).as(r.toString()).isEqualTo("VALID");
    }

    @Test
    void should_give_every_row_of_the_tampering_table() throws Exception {
        String doc = FormatVectorsTest.doc();
        Path chain = Path.of("chains/gw-example.jsonl");
        Path cps = Path.of("checkpoints/gw-example.jsonl");
        record Row(String name, boolean reseal, Path file, UnaryOperator<List<String>> change, String verdict,
                   String expected) {
        }
        List<Row> rows = List.of(
                new Row("edit", false, chain, l -> List.of(l.get(0).replace("\"completed\"", "\"denied\""), l.get(1)),
                        "TAMPERED", "export: chains/gw-example.jsonl: manifest_mismatch"),
                new Row("edit resealed", true, chain, l -> List.of(l.get(0).replace("\"completed\"", "\"denied\""),
                        l.get(1)), "TAMPERED", "gw-example position 2: checkpoint_mismatch"),
                new Row("delete 1", true, chain, l -> List.of(l.get(1)), "TAMPERED", "gw-example position 1: position_mismatch"),
                new Row("swap", true, chain, l -> List.of(l.get(1), l.get(0)), "TAMPERED",
                        "gw-example position 1: position_mismatch"),
                new Row("repeat", true, chain, l -> List.of(l.get(0), l.get(0), l.get(1)), "TAMPERED",
                        "gw-example position 2: position_mismatch"),
                new Row("delete 2", true, chain, l -> List.of(l.get(0)), "TAMPERED", "gw-example position 2: truncated"),
                new Row("format", true, chain, l -> List.of(l.get(0).replace("\"format\":1", "\"format\":2"), l.get(1)),
                        "TAMPERED", "gw-example position 1: unsupported_format"),
                new Row("float", true, chain, l -> List.of(l.get(0).replace("\"size\":5", "\"size\":5.0"), l.get(1)),
                        "TAMPERED", "gw-example position 1: not_canonical"),
                new Row("first checkpoint", true, cps, l -> List.of(l.get(1)), "INCOMPLETE",
                        "gw-example: uncovered_span 2026-11-25T10:00:00Z to 2026-11-25T10:00:12Z"),
                new Row("second checkpoint", true, cps, l -> List.of(l.get(0)), "INCOMPLETE",
                        "gw-example: uncovered_span 2026-11-25T10:00:02Z to 2026-11-25T10:00:10Z"));
        String table = doc.substring(doc.indexOf("### 7.4"), doc.indexOf("### 7.5"));
        for (Row row : rows) {
            Path d = exportDir(doc);
            lines(d.resolve(row.file().toString()), row.change());
            if (row.reseal()) {
                reseal(d);
            }
            Verifier.Report r = verify(d, true);
            assertThat(r.summary()).as(row.name() + ": " + r).isEqualTo(row.verdict());
            List<String> found = new ArrayList<>(r.faults());
            found.addAll(r.gaps());
            assertThat(found).as(row.name()).singleElement().asString().startsWith(row.expected());
            String fault = row.expected().replaceAll(".*: ", "").split(" ")[0];
            assertThat(table).as("the table names " + fault).contains("`" + fault);
        }
        assertThat(verify(exportDir(doc), false).summary()).isEqualTo("UNVERIFIABLE");
    }

    @Test
    void should_reproduce_the_published_merkle_proofs() throws Exception {
        String doc = FormatVectorsTest.doc();
        List<byte[]> l = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            l.add(Merkle.leaf(String.valueOf(i).getBytes(StandardCharsets.US_ASCII)));
            assertThat(HEX.formatHex(l.get(i))).isEqualTo(value(doc, "`mleaf(" + i + ")` ="));
        }
        assertThat(HEX.formatHex(Merkle.root(l.subList(0, 3)))).isEqualTo(value(doc, "`root(3)` ="));
        byte[] root5 = Merkle.root(l);
        assertThat(HEX.formatHex(root5)).isEqualTo(value(doc, "`root(5)` ="));
        List<byte[]> inclusion = new ArrayList<>();
        block(doc, "The inclusion proof of leaf index 2").lines().forEach(h -> inclusion.add(HEX.parseHex(h)));
        assertThat(inclusion).containsExactlyElementsOf(Merkle.inclusion(2, 5, Merkle.memory(l)));
        assertThat(Merkle.verifyInclusion(2, 5, l.get(2), inclusion, root5)).isTrue();
        List<byte[]> consistency = new ArrayList<>();
        block(doc, "The consistency proof from size 3").lines().forEach(h -> consistency.add(HEX.parseHex(h)));
        assertThat(consistency).containsExactlyElementsOf(Merkle.consistency(3, 5, Merkle.memory(l)));
        assertThat(Merkle.verifyConsistency(3, 5, Merkle.root(l.subList(0, 3)), root5, consistency)).isTrue();
    }
}
