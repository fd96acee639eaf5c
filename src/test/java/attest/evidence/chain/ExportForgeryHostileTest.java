package attest.evidence.chain;

import attest.VerifyCommand;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * An outside attack on the export format (written from docs/evidence-format.md, without reading the verifier):
 * whoever holds the export of section 7.3 changes it without the signing key, reseals the manifest, and hands it
 * to an auditor who runs both verifiers ({@code attest verify --export} and the independent
 * {@code tests/independent-verifier/verify.mjs}) with the genuine key and the range they asked for. Every change
 * here is evidence that no signature covers, so neither verifier may answer VALID (exit 0), and both must agree.
 */
class ExportForgeryHostileTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final HexFormat HEX = HexFormat.of();
    static final String KEY = "MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
    static final String CHAIN = "chains/gw-example.jsonl";
    static final String CHECKPOINTS = "checkpoints/gw-example.jsonl";

    record Run(int code, String output) {
    }

    /** A call record the gateway never wrote, at a position, dated inside the range. */
    static String forged(long position) {
        String id = "00000000-0000-4000-8000-00000000f00" + position;
        return "{\"chain_id\":\"gw-example\",\"format\":1,\"kind\":\"call.terminal\",\"position\":" + position
                + ",\"record\":{\"id\":\"" + id + "\",\"outcome\":\"completed\",\"request\":{\"sha256\":\"00\",\"size\":1}},"
                + "\"recorded_at\":\"2026-11-25T10:00:05Z\",\"subject_id\":\"" + id + "\"}";
    }

    record Forgery(String name, String from, String to, Consumer<Path> change) {
        @Override
        public String toString() {
            return name;
        }
    }

    static Stream<Forgery> forgeries() {
        String from = "2026-11-25T10:00:00Z";
        String to = "2026-11-25T10:00:10Z";
        return Stream.of(
                // both signed checkpoints sign size 2; the export claims to start at 4, so every checkpoint is
                // "below first_position - 1" and anchors nothing: the entries and the anchor are the forger's own
                new Forgery("every entry forged behind an anchor no checkpoint signs", "2026-11-25T10:00:03Z", to,
                        d -> {
                            lines(d, CHAIN, List.of(forged(4), forged(5)));
                            manifest(d, c -> {
                                c.put("first_position", 4).put("last_position", 5).put("anchor_hash", "11".repeat(32));
                                c.putArray("frontier").add("22".repeat(32)).add("33".repeat(32));
                            });
                        }),
                // the same with the frontier dropped: a format-1 export's links, which still anchor nothing
                new Forgery("every entry forged, the manifest downgraded to format 1", "2026-11-25T10:00:03Z", to,
                        d -> {
                            lines(d, CHAIN, List.of(forged(4), forged(5)));
                            ObjectNode m = readManifest(d);
                            m.put("format", 1);
                            write(d, m);
                            manifest(d, c -> {
                                c.put("first_position", 4).put("last_position", 5).put("anchor_hash", "11".repeat(32));
                                c.remove("frontier");
                            });
                        }),
                new Forgery("a forged call appended after the closing checkpoint", from, to, d -> {
                    List<String> l = read(d, CHAIN);
                    l.add(forged(3));
                    lines(d, CHAIN, l);
                    manifest(d, c -> c.put("last_position", 3));
                }),
                new Forgery("every chain left out of the manifest", from, to, d -> {
                    ObjectNode m = readManifest(d);
                    m.putArray("chains");
                    write(d, m);
                }),
                // section 6.1: each line is exactly the canonical bytes and one line feed
                new Forgery("entries re-serialised with CRLF line ends", from, to, d -> rewrite(d, CHAIN,
                        s -> s.replace("\n", "\r\n"))),
                // section 6.1: a line is UTF-8; the é of entry 2 (c3 a9) as one Latin-1 byte is no text at all
                new Forgery("an entry line that is not UTF-8", from, to, d -> bytes(d, CHAIN, b -> replace(b,
                        new byte[]{(byte) 0xc3, (byte) 0xa9}, new byte[]{(byte) 0xe9}))),
                // section 6.2: first_position is an integer; a string is not one
                new Forgery("first_position written as a string", from, to, d -> manifest(d,
                        c -> c.put("first_position", "1"))),
                // section 6.3: a line's size that disagrees with the signed bytes is checkpoint_mismatch
                new Forgery("a checkpoint line's size written as a string", from, to, d -> checkpointLines(d,
                        o -> o.put("size", o.path("size").asText()))),
                // section 6.1: hex is compared as written, upper case is a mismatch
                new Forgery("a checkpoint line's hash in upper case", from, to, d -> checkpointLines(d,
                        o -> o.put("hash", o.path("hash").asText().toUpperCase()))),
                // section 6.1: hex is lower case everywhere and compared as written; a signature, anchor or
                // frontier node in any other spelling is a mismatch, never the same bytes parsed leniently
                new Forgery("a checkpoint line's signature in upper case", from, to, d -> checkpointLines(d,
                        o -> o.put("signature", o.path("signature").asText().toUpperCase()))),
                // Node's Buffer.from(x, 'hex') stops at the first non-hex character and keeps what it read
                new Forgery("a checkpoint line's signature followed by non-hex characters", from, to,
                        d -> checkpointLines(d, o -> o.put("signature", o.path("signature").asText() + "zz"))),
                new Forgery("the anchor_hash followed by non-hex characters", from, to, d -> manifest(d,
                        c -> c.put("anchor_hash", c.path("anchor_hash").asText() + "zz"))),
                new Forgery("the anchor_hash with a space inside", from, to, d -> manifest(d,
                        c -> c.put("anchor_hash", "00 " + c.path("anchor_hash").asText().substring(2)))),
                // section 6.1: paths never contain '..'; a verifier resolves them inside the export only
                new Forgery("the chain file read from outside the export", from, to, d -> {
                    try {
                        Path outside = d.resolveSibling(d.getFileName() + "-outside.jsonl");
                        Files.copy(d.resolve(CHAIN), outside);
                        Files.delete(d.resolve(CHAIN));
                        manifest(d, c -> c.put("file", "../" + outside.getFileName()));
                        ObjectNode m = readManifest(d);
                        ((ObjectNode) m.path("files")).remove(CHAIN);
                        write(d, m);
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                }));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("forgeries")
    void should_not_call_an_export_valid_when_its_holder_changed_what_no_signature_covers(Forgery f) throws Exception {
        Path d = FormatVectorsMoreTest.exportDir(FormatVectorsTest.doc());
        Path key = Files.createTempFile("attest-forgery", ".pub");
        Files.writeString(key, KEY + "\n");
        assertThat(java(d, key, f.from(), f.to()).code()).as("the honest export").isZero();
        assertThat(node(d, key, f.from(), f.to()).code()).as("the honest export, independent verifier").isZero();
        f.change().accept(d);
        reseal(d);
        Run java = java(d, key, f.from(), f.to());
        Run node = node(d, key, f.from(), f.to());
        assertThat(java.code()).as("attest verify: %s", java.output()).isEqualTo(1);
        assertThat(java.output()).containsAnyOf("TAMPERED", "INCOMPLETE");
        assertThat(node.code()).as("independent verifier: %s", node.output()).isEqualTo(1);
        assertThat(last(node.output())).as("both verifiers give one verdict").isEqualTo(last(java.output()));
    }

    /** HOLE before: a line that is not UTF-8 was "UNVERIFIABLE: cannot read the export: UncheckedIOException". */
    @org.junit.jupiter.api.Test
    void should_call_an_entry_line_that_is_not_utf8_not_canonical() throws Exception {
        Path d = FormatVectorsMoreTest.exportDir(FormatVectorsTest.doc());
        Path key = Files.createTempFile("attest-forgery", ".pub");
        Files.writeString(key, KEY + "\n");
        bytes(d, CHAIN, b -> replace(b, new byte[]{(byte) 0xc3, (byte) 0xa9}, new byte[]{(byte) 0xe9}));
        reseal(d);
        Run java = java(d, key, "2026-11-25T10:00:00Z", "2026-11-25T10:00:10Z");
        assertThat(java.output()).contains("fault: gw-example position 2: not_canonical").doesNotContain("Exception");
        assertThat(last(java.output())).isEqualTo("TAMPERED");
        Run node = node(d, key, "2026-11-25T10:00:00Z", "2026-11-25T10:00:10Z");
        assertThat(node.output()).contains("gw-example position 2: not_canonical");
    }

    // ---- a format-2 export that starts after position 1 (the doc's starts at 1, where there is no anchor to forge)

    static final java.time.Instant T0 = java.time.Instant.parse("2026-11-25T10:00:00Z");
    static final String FROM = "2026-11-25T10:00:25Z";
    static final String TO = "2026-11-25T10:01:15Z";
    static final String LATER = "chains/gw-test.jsonl";
    static final String LATER_CPS = "checkpoints/gw-test.jsonl";

    /** 20 entries, and format-2 checkpoints every 10 s from T0: sizes 0, 2, ... 20 (as in CompletenessTest). */
    static List<Verifier.Row> rows;
    static List<Verifier.StoredCheckpoint> cps;

    static synchronized void chain() throws Exception {
        if (rows == null) {
            rows = VerifierTest.build(20, "c");
            cps = new ArrayList<>();
            byte[] prev = null;
            for (int i = 0; i <= 10; i++) {
                Verifier.StoredCheckpoint c = CompletenessTest.cp(rows, 2L * i, T0.plusSeconds(10L * i), prev,
                        "running", List.of(VerifierTest.CHAIN), null);
                cps.add(c);
                prev = c.hash();
            }
        }
    }

    static String hex(byte[] b) {
        return HEX.formatHex(b);
    }

    static List<String> frontier(List<Verifier.Row> of, long size) {
        List<byte[]> leaves = new ArrayList<>();
        of.forEach(r -> leaves.add(Merkle.leaf(r.canonical())));
        return Merkle.Frontier.of(size, Merkle.memory(leaves)).nodes().stream().map(ExportForgeryHostileTest::hex)
                .toList();
    }

    /**
     * The export Export.write makes of [T0 + 25 s, T0 + 75 s): the opening checkpoint (20 s, size 4), entries 5 to
     * 16, the checkpoints up to the closing one (80 s, size 16), the anchor hash(4) and the frontier of 4 leaves.
     */
    static Path laterExport() throws Exception {
        chain();
        Path d = Files.createTempDirectory("attest-later-export");
        Files.createDirectories(d.resolve("chains"));
        Files.createDirectories(d.resolve("checkpoints"));
        Files.createDirectories(d.resolve("keys"));
        List<String> entries = new ArrayList<>();
        for (int p = 5; p <= 16; p++) {
            entries.add(new String(rows.get(p - 1).canonical(), StandardCharsets.UTF_8));
        }
        Files.writeString(d.resolve(LATER), String.join("\n", entries) + "\n");
        List<String> lines = new ArrayList<>();
        for (Verifier.StoredCheckpoint c : cps) {
            if (c.size() >= 4 && c.size() <= 16) {
                ObjectNode o = JSON.createObjectNode();
                o.put("size", c.size());
                o.put("canonical", java.util.Base64.getEncoder().encodeToString(c.canonical()));
                o.put("signature", hex(c.signature()));
                o.put("key_id", c.keyId());
                o.put("hash", hex(c.hash()));
                lines.add(JSON.writeValueAsString(o));
            }
        }
        Files.writeString(d.resolve(LATER_CPS), String.join("\n", lines) + "\n");
        ObjectNode m = JSON.createObjectNode();
        m.put("format", 2).put("from", FROM).put("to", TO).put("created_at", "2026-11-25T10:01:30Z");
        ObjectNode c = ((ArrayNode) m.putArray("chains")).addObject();
        c.put("chain_id", VerifierTest.CHAIN).put("file", LATER).put("checkpoints", LATER_CPS)
                .put("first_position", 5).put("last_position", 16).put("last_in_range", 15)
                .put("anchor_hash", hex(rows.get(3).hash()));
        frontier(rows, 4).forEach(c.putArray("frontier")::add);
        ObjectNode files = m.putObject("files");
        files.put(LATER, "").put(LATER_CPS, "");
        write(d, m);
        reseal(d);
        return d;
    }

    static Path laterKey() throws Exception {
        Path key = Files.createTempFile("attest-forgery", ".pub");
        Files.writeString(key, java.util.Base64.getEncoder().encodeToString(VerifierTest.signer().publicKey()
                .getEncoded()) + "\n");
        return key;
    }

    /** Entries {@code first} to {@code last} only, the manifest saying so, checkpoints beyond {@code last} dropped. */
    static void trim(Path d, int first, int last) {
        List<String> entries = new ArrayList<>();
        for (int p = first; p <= last; p++) {
            entries.add(new String(rows.get(p - 1).canonical(), StandardCharsets.UTF_8));
        }
        lines(d, LATER, entries);
        List<String> kept = new ArrayList<>();
        for (String l : read(d, LATER_CPS)) {
            try {
                if (JSON.readTree(l).path("size").asLong() <= last) {
                    kept.add(l);
                }
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
        lines(d, LATER_CPS, kept);
        manifest(d, c -> c.put("first_position", first).put("last_position", last)
                .put("anchor_hash", hex(rows.get(first - 2).hash())));
    }

    record Trim(String name, String expected, Consumer<Path> change) {
        @Override
        public String toString() {
            return name;
        }
    }

    /**
     * Whoever holds the export trims it or changes what the manifest says of its frontier (nothing a signature covers),
     * reseals it, and hands it over with the range it claims. {@code expected}: what the verifier must name.
     */
    static Stream<Trim> trims() {
        Consumer<ObjectNode> noFrontier = c -> c.remove("frontier");
        Consumer<Path> downgrade = d -> {
            ObjectNode m = readManifest(d);
            m.put("format", 1);
            write(d, m);
            manifest(d, noFrontier);
        };
        return Stream.of(
                // HOLE before: each of these four was VALID (the verifier trusted the manifest's word that the export
                // was of format 1 and skipped the checkpoint below the anchor, which still counted for coverage)
                new Trim("the frontier removed", "anchor_mismatch", d -> manifest(d, noFrontier)),
                new Trim("the manifest downgraded to format 1", "anchor_mismatch", downgrade),
                new Trim("the head trimmed, the frontier removed", "anchor_mismatch", d -> {
                    trim(d, 7, 16);
                    manifest(d, noFrontier);
                }),
                new Trim("the head trimmed, the manifest downgraded", "anchor_mismatch", d -> {
                    trim(d, 9, 16);
                    downgrade.accept(d);
                }),
                new Trim("the head trimmed, the frontier recomputed for it", "anchor_mismatch", d -> {
                    trim(d, 7, 16);
                    manifest(d, c -> {
                        ArrayNode f = c.putArray("frontier");
                        frontier(rows, 6).forEach(f::add);
                    });
                }),
                new Trim("the head trimmed with the opening checkpoint", "uncovered_span", d -> {
                    trim(d, 7, 16);
                    manifest(d, c -> {
                        ArrayNode f = c.putArray("frontier");
                        frontier(rows, 6).forEach(f::add);
                    });
                    List<String> l = read(d, LATER_CPS);
                    lines(d, LATER_CPS, l.subList(1, l.size()));
                }),
                new Trim("the tail trimmed", "uncovered_span", d -> trim(d, 5, 12)),
                new Trim("the head and the tail trimmed, the frontier removed", "anchor_mismatch", d -> {
                    trim(d, 7, 12);
                    manifest(d, noFrontier);
                }),
                new Trim("a frontier of another size", "anchor_mismatch", d -> manifest(d,
                        c -> ((ArrayNode) c.path("frontier")).add("44".repeat(32)))),
                new Trim("a frontier of another size, the manifest downgraded", "anchor_mismatch", d -> {
                    downgrade.accept(d);
                    manifest(d, c -> c.putArray("frontier").add("44".repeat(32)).add("55".repeat(32)));
                }),
                new Trim("the frontier swapped from another export", "root_mismatch", d -> manifest(d, c -> {
                    ArrayNode f = c.putArray("frontier");
                    frontier(VerifierTest.build(20, "other"), 4).forEach(f::add);
                })));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("trims")
    void should_not_call_a_trimmed_export_or_one_without_its_frontier_valid(Trim t) throws Exception {
        Path d = laterExport();
        Path key = laterKey();
        Run honest = java(d, key, FROM, TO);
        assertThat(honest.code()).as("the honest export: %s", honest.output()).isZero();
        assertThat(node(d, key, FROM, TO).code()).as("the honest export, independent verifier").isZero();
        t.change().accept(d);
        reseal(d);
        Run java = java(d, key, FROM, TO);
        Run node = node(d, key, FROM, TO);
        assertThat(java.code()).as("attest verify: %s", java.output()).isEqualTo(1);
        assertThat(java.output()).contains(t.expected()).doesNotContain("Exception");
        assertThat(node.code()).as("independent verifier: %s", node.output()).isEqualTo(1);
        assertThat(last(node.output())).as("both verifiers give one verdict").isEqualTo(last(java.output()));
        if (t.expected().equals("anchor_mismatch") || t.expected().equals("root_mismatch")) {
            // no range given: what no signature covers is still found, not left to coverage
            Run plain = javaWithoutRange(d, key);
            assertThat(plain.code()).as("without a range: %s", plain.output()).isEqualTo(1);
        }
    }

    /**
     * HOLE before: an export that could not be read at all said only "UNVERIFIABLE: cannot read the export:
     * UncheckedIOException". Now each says what is wrong, and never an exception's name.
     */
    @ParameterizedTest(name = "{0}")
    @org.junit.jupiter.params.provider.CsvSource(delimiter = '|', textBlock = """
            manifest deleted               | 2 | UNVERIFIABLE: cannot read the export: no manifest.json
            manifest not JSON              | 2 | UNVERIFIABLE: cannot read the export: manifest.json is not valid JSON
            manifest a JSON array          | 2 | UNVERIFIABLE: cannot read the export: manifest.json is not a JSON object
            an empty directory             | 2 | UNVERIFIABLE: cannot read the export: the directory is empty (no manifest.json)
            no such directory              | 2 | UNVERIFIABLE: cannot read the export: no such directory
            the chain file deleted         | 1 | fault: export: chains/gw-test.jsonl: missing_file
            a checkpoint line not JSON     | 1 | fault: gw-test checkpoint line 2: checkpoint_mismatch
            a checkpoint line not base64   | 1 | fault: gw-test checkpoint line 1: checkpoint_mismatch
            """)
    void should_say_what_is_wrong_with_an_export_it_cannot_read(String what, int code, String line) throws Exception {
        Path d = laterExport();
        Path key = laterKey();
        switch (what) {
            case "manifest deleted" -> Files.delete(d.resolve("manifest.json"));
            case "manifest not JSON" -> Files.writeString(d.resolve("manifest.json"), "{\"format\": 2,");
            case "manifest a JSON array" -> Files.writeString(d.resolve("manifest.json"), "[]");
            case "an empty directory" -> d = Files.createTempDirectory("attest-empty-export");
            case "no such directory" -> d = d.resolve("absent");
            case "the chain file deleted" -> Files.delete(d.resolve(LATER));
            case "a checkpoint line not JSON" -> {
                List<String> l = new ArrayList<>(read(d, LATER_CPS));
                l.set(1, "{not json");
                lines(d, LATER_CPS, l);
                reseal(d);
            }
            case "a checkpoint line not base64" -> {
                checkpointLinesOf(d, LATER_CPS, o -> o.put("canonical", "%%%"));
                reseal(d);
            }
            default -> throw new IllegalArgumentException(what);
        }
        Run java = java(d, key, FROM, TO);
        assertThat(java.code()).as(java.output()).isEqualTo(code);
        assertThat(java.output()).contains(line).doesNotContain("Exception").doesNotContain("\tat ");
        if (Files.isDirectory(d)) {
            Run node = node(d, key, FROM, TO);
            assertThat(node.code()).as("independent verifier: %s", node.output()).isEqualTo(code);
        }
    }

    static Run javaWithoutRange(Path d, Path key) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int code = VerifyCommand.run(new String[]{"--export", d.toString(), "--public-key", key.toString()},
                new PrintStream(out, true, StandardCharsets.UTF_8));
        return new Run(code, out.toString(StandardCharsets.UTF_8));
    }

    static void bytes(Path d, String file, java.util.function.UnaryOperator<byte[]> change) {
        try {
            Files.write(d.resolve(file), change.apply(Files.readAllBytes(d.resolve(file))));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** {@code b} with the first occurrence of {@code what} replaced (which must occur). */
    static byte[] replace(byte[] b, byte[] what, byte[] with) {
        for (int i = 0; i + what.length <= b.length; i++) {
            if (java.util.Arrays.equals(b, i, i + what.length, what, 0, what.length)) {
                ByteArrayOutputStream out = new ByteArrayOutputStream();
                out.write(b, 0, i);
                out.write(with, 0, with.length);
                out.write(b, i + what.length, b.length - i - what.length);
                return out.toByteArray();
            }
        }
        throw new IllegalStateException("not found");
    }

    static String last(String output) {
        String[] l = output.strip().split("\n");
        return l[l.length - 1].strip();
    }

    static Run java(Path d, Path key, String from, String to) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int code = VerifyCommand.run(new String[]{"--export", d.toString(), "--from", from, "--to", to,
                "--public-key", key.toString()}, new PrintStream(out, true, StandardCharsets.UTF_8));
        return new Run(code, out.toString(StandardCharsets.UTF_8));
    }

    static Run node(Path d, Path key, String from, String to) throws Exception {
        Process p = new ProcessBuilder("node", "tests/independent-verifier/verify.mjs", d.toString(), "--from", from,
                "--to", to, key.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        return new Run(p.exitValue(), out);
    }

    static List<String> read(Path d, String file) {
        try {
            List<String> l = new ArrayList<>();
            for (String s : Files.readString(d.resolve(file)).split("\n")) {
                if (!s.isEmpty()) {
                    l.add(s);
                }
            }
            return l;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    static void lines(Path d, String file, List<String> lines) {
        rewrite(d, file, s -> String.join("\n", lines) + "\n");
    }

    static void rewrite(Path d, String file, java.util.function.UnaryOperator<String> change) {
        try {
            Files.writeString(d.resolve(file), change.apply(Files.readString(d.resolve(file))));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    static void checkpointLines(Path d, Consumer<ObjectNode> change) {
        checkpointLinesOf(d, CHECKPOINTS, change);
    }

    static void checkpointLinesOf(Path d, String file, Consumer<ObjectNode> change) {
        List<String> out = new ArrayList<>();
        for (String l : read(d, file)) {
            try {
                ObjectNode o = (ObjectNode) JSON.readTree(l);
                change.accept(o);
                out.add(JSON.writeValueAsString(o));
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
        lines(d, file, out);
    }

    static ObjectNode readManifest(Path d) {
        try {
            return (ObjectNode) JSON.readTree(d.resolve("manifest.json").toFile());
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    static void write(Path d, ObjectNode m) {
        try {
            Files.writeString(d.resolve("manifest.json"), m.toPrettyString());
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** Changes the manifest's one chain object. */
    static void manifest(Path d, Consumer<ObjectNode> change) {
        ObjectNode m = readManifest(d);
        change.accept((ObjectNode) ((ArrayNode) m.path("chains")).get(0));
        write(d, m);
    }

    /** What a forger does after any change: the manifest's digests recomputed for the files it lists. */
    static void reseal(Path d) throws Exception {
        ObjectNode m = readManifest(d);
        ObjectNode files = (ObjectNode) m.path("files");
        for (Iterator<String> it = files.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (Files.exists(d.resolve(f))) {
                files.put(f, HEX.formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(d.resolve(f)))));
            }
        }
        write(d, m);
    }
}
