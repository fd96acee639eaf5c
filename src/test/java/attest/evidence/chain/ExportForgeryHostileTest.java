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
        List<String> out = new ArrayList<>();
        for (String l : read(d, CHECKPOINTS)) {
            try {
                ObjectNode o = (ObjectNode) JSON.readTree(l);
                change.accept(o);
                out.add(JSON.writeValueAsString(o));
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
        lines(d, CHECKPOINTS, out);
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
