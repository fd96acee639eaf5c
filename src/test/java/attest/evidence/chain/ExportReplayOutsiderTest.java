package attest.evidence.chain;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static attest.evidence.chain.ExportForgeryHostileTest.*;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Outside review (2026-12-02): export shapes that ExportForgeryHostileTest and VerifierTest do not hold. Each changes
 * what no signature covers, reseals the manifest, and runs {@code attest verify --export} with the genuine key and
 * the range asked for. None may be VALID, none may name an exception. Cases marked HOLE were what the verifier got
 * wrong (2026-12-02); each now holds its verdict and reason.
 */
class ExportReplayOutsiderTest {

    static Run tamper(java.util.function.Consumer<Path> change) throws Exception {
        Path d = laterExport();
        Path key = laterKey();
        Run honest = java(d, key, FROM, TO);
        assertThat(honest.code()).as("the honest export: %s", honest.output()).isZero();
        change.accept(d);
        reseal(d);
        Run java = java(d, key, FROM, TO);
        // the independent verifier (section 6.1: both apply the same rules) gives the same exit code
        Run node = node(d, key, FROM, TO);
        assertThat(node.code()).as("independent verifier: %s\nattest verify: %s", node.output(), java.output())
                .isEqualTo(java.code());
        return java;
    }

    static void notValid(Run r) {
        assertThat(r.code()).as("attest verify: %s", r.output()).isNotZero();
        assertThat(r.output()).doesNotContain("Exception").doesNotContain("\tat ");
        assertThat(last(r.output())).isNotEqualTo("VALID");
    }

    static String entryLine(int position) {
        return new String(rows.get(position - 1).canonical(), StandardCharsets.UTF_8);
    }

    static List<String> entries(int first, int last) {
        List<String> l = new ArrayList<>();
        for (int p = first; p <= last; p++) {
            l.add(entryLine(p));
        }
        return l;
    }

    // ---- passes today (kept as regression rows)

    @Test
    void two_entries_swapped() throws Exception {
        Run r = tamper(d -> {
            List<String> l = entries(5, 16);
            String a = l.get(2);
            l.set(2, l.get(3));
            l.set(3, a);
            lines(d, LATER, l);
        });
        notValid(r);
        assertThat(r.output()).contains("position_mismatch");
    }

    @Test
    void an_entry_duplicated_and_the_last_dropped() throws Exception {
        Run r = tamper(d -> {
            List<String> l = entries(5, 15);
            l.add(3, l.get(3));
            lines(d, LATER, l);
        });
        notValid(r);
        assertThat(r.output()).contains("position_mismatch");
    }

    @Test
    void an_entry_dropped_from_the_middle() throws Exception {
        Run r = tamper(d -> {
            List<String> l = entries(5, 16);
            l.remove(4);
            lines(d, LATER, l);
        });
        notValid(r);
        assertThat(r.output()).contains("position_mismatch");
    }

    @Test
    void the_manifest_chain_id_renamed_to_another_chain() throws Exception {
        notValid(tamper(d -> manifest(d, c -> c.put("chain_id", "gw-other"))));
    }

    @Test
    void first_position_zero_and_no_frontier() throws Exception {
        notValid(tamper(d -> manifest(d, c -> {
            c.put("first_position", 0);
            c.remove("frontier");
        })));
    }

    @Test
    void an_entry_nested_past_the_parser_depth() throws Exception {
        notValid(tamper(d -> {
            List<String> l = entries(5, 16);
            l.set(1, "[".repeat(5000) + "]".repeat(5000));
            lines(d, LATER, l);
        }));
    }

    @Test
    void an_entry_with_an_integer_beyond_2_to_the_53() throws Exception {
        notValid(tamper(d -> {
            List<String> l = entries(5, 16);
            l.set(1, l.get(1).replace("\"position\":6", "\"position\":9007199254740993"));
            lines(d, LATER, l);
        }));
    }

    @Test
    void an_entry_with_a_lone_surrogate_escape() throws Exception {
        notValid(tamper(d -> {
            List<String> l = entries(5, 16);
            l.set(1, l.get(1).replace("\"outcome\":\"completed\"", "\"outcome\":\"\\ud800\""));
            lines(d, LATER, l);
        }));
    }

    @Test
    void an_entry_with_a_duplicate_member() throws Exception {
        notValid(tamper(d -> {
            List<String> l = entries(5, 16);
            l.set(1, l.get(1).replace("\"outcome\":\"completed\"", "\"outcome\":\"completed\",\"outcome\":\"x\""));
            lines(d, LATER, l);
        }));
    }

    @Test
    void the_chain_file_is_the_checkpoint_file() throws Exception {
        notValid(tamper(d -> manifest(d, c -> c.put("file", LATER_CPS))));
    }

    @Test
    void a_checkpoint_line_from_another_chain_key_spliced_in() throws Exception {
        notValid(tamper(d -> {
            List<String> l = new ArrayList<>(read(d, LATER_CPS));
            l.add(2, l.get(2).replace("\"size\":8", "\"size\":9"));
            lines(d, LATER_CPS, l);
        }));
    }

    @Test
    void the_checkpoint_lines_reversed() throws Exception {
        notValid(tamper(d -> {
            List<String> l = new ArrayList<>(read(d, LATER_CPS));
            java.util.Collections.reverse(l);
            lines(d, LATER_CPS, l);
        }));
    }

    @Test
    void a_second_chain_object_for_the_same_chain_genuine_first_forged_second() throws Exception {
        Run r = tamper(d -> {
            ObjectNode m = readManifest(d);
            ObjectNode copy = ((ObjectNode) m.path("chains").get(0)).deepCopy();
            copy.put("file", "chains/forged.jsonl");
            List<String> l = entries(5, 16);
            l.set(2, l.get(2).replace("completed", "forgedxx"));
            try {
                Files.writeString(d.resolve("chains/forged.jsonl"), String.join("\n", l) + "\n");
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
            ((ArrayNode) m.path("chains")).add(copy);
            ((ObjectNode) m.path("files")).put("chains/forged.jsonl", "");
            write(d, m);
        });
        notValid(r);
        assertThat(last(r.output())).isEqualTo("TAMPERED");
        assertThat(r.output()).contains("listed twice in the manifest");
    }

    // ---- holes

    /**
     * HOLE (low): last_position (section 6.2: first_position + lines - 1) is never compared with the lines: a manifest
     * claiming entries 5 to 99 over a file of 5 to 16 is VALID (Export.read never reads last_position).
     */
    @Test
    void last_position_claims_more_entries_than_the_file_holds() throws Exception {
        Run r = tamper(d -> manifest(d, c -> c.put("last_position", 99)));
        notValid(r);
        assertThat(last(r.output())).isEqualTo("TAMPERED");
        assertThat(r.output()).contains("position_mismatch (last_position is not the last line's position");
    }

    /** HOLE (low): the manifest's format is never read: format 99 (no such format) is VALID. */
    @Test
    void the_manifest_format_99() throws Exception {
        Run r = tamper(d -> {
            ObjectNode m = readManifest(d);
            m.put("format", 99);
            write(d, m);
        });
        notValid(r);
        assertThat(r.code()).isEqualTo(2);
        assertThat(last(r.output())).startsWith("UNVERIFIABLE").contains("unknown export format (99)");
    }

    /**
     * HOLE (low): the frontier written as a JSON object of the same nodes (section 6.2: an array) is read by its values
     * (JsonNode.size/forEach), VALID.
     */
    @Test
    void the_frontier_an_object_not_an_array() throws Exception {
        Run r = tamper(d -> manifest(d, c -> {
            ObjectNode o = c.objectNode();
            int i = 0;
            for (var n : c.path("frontier")) {
                o.set("n" + i++, n);
            }
            c.set("frontier", o);
        }));
        notValid(r);
        assertThat(last(r.output())).isEqualTo("TAMPERED");
        assertThat(r.output()).contains("anchor_mismatch (the frontier is not an array)");
    }

    /**
     * HOLE: a checkpoint line's size 2^64 + N (an integer, so Export.read's isIntegralNumber check passes) wraps to N
     * in asLong() and matches the signed size: VALID. Expected checkpoint_mismatch (section 6.1: a size is a JSON
     * integer; 6.3: a size that disagrees with the signed bytes).
     */
    @Test
    void a_checkpoint_size_beyond_a_long_wraps() throws Exception {
        Run r = tamper(d -> checkpointLinesOf(d, LATER_CPS, o -> o.put("size",
                java.math.BigInteger.ONE.shiftLeft(64).add(java.math.BigInteger.valueOf(o.path("size").asLong())))));
        notValid(r);
        assertThat(last(r.output())).isEqualTo("TAMPERED");
        assertThat(r.output()).contains("checkpoint_mismatch");
    }

    /**
     * HOLE: first_position 2^64 + 5 is a JSON integer (Export.read checks only isIntegralNumber) and asLong() wraps it
     * to 5: the export is VALID although its manifest names a position no chain can have. Section 6.2/"oversized
     * values": expected position_mismatch.
     */
    @Test
    void first_position_beyond_a_long_wraps() throws Exception {
        Run r = tamper(d -> manifest(d, c -> c.put("first_position",
                new java.math.BigInteger("18446744073709551621"))));
        notValid(r);
        assertThat(last(r.output())).isEqualTo("TAMPERED");
        assertThat(r.output()).contains("position_mismatch (first_position is not an integer from 1)");
    }

    /**
     * HOLE: the manifest holds two objects for one chain; Export.read keeps only the LAST per chain_id (a TreeMap,
     * Export.java `byChain.put(...)`), so a forged chain file listed FIRST is never read and the export is VALID. A
     * reader of the manifest in its order (a person, a tool, section 6.2's "one object per chain") reads forged
     * entries that the VALID verdict seems to vouch for. Expected: TAMPERED (a chain named twice).
     */
    @Test
    void a_second_chain_object_for_the_same_chain_forged_first() throws Exception {
        Run r = tamper(d -> {
            ObjectNode m = readManifest(d);
            ArrayNode chains = (ArrayNode) m.path("chains");
            ObjectNode copy = ((ObjectNode) chains.get(0)).deepCopy();
            copy.put("file", "chains/forged.jsonl");
            List<String> l = entries(5, 16);
            l.set(2, l.get(2).replace("completed", "forgedxx"));
            try {
                Files.writeString(d.resolve("chains/forged.jsonl"), String.join("\n", l) + "\n");
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
            chains.insert(0, copy);
            ((ObjectNode) m.path("files")).put("chains/forged.jsonl", "");
            write(d, m);
        });
        notValid(r);
        assertThat(last(r.output())).isEqualTo("TAMPERED");
        assertThat(r.output()).contains("listed twice in the manifest");
    }

    /**
     * HOLE: section 6.1 says each line is exactly the canonical bytes followed by ONE line feed; Export.lines skips
     * empty lines (`if (i > start)`), so blank lines inserted between entries are VALID: the file's bytes differ from
     * what the exporter wrote and from what a byte-wise reader (6.1: "split as bytes") counts as lines.
     */
    @Test
    void blank_lines_between_entries() throws Exception {
        Run r = tamper(d -> rewrite(d, LATER, s -> s.replace("\n", "\n\n")));
        notValid(r);
        assertThat(last(r.output())).isEqualTo("TAMPERED");
        assertThat(r.output()).contains("not_canonical");
    }

    /** HOLE: the last line without its line feed (section 6.1) is read as a line, VALID. */
    @Test
    void the_last_line_without_its_line_feed() throws Exception {
        Run r = tamper(d -> rewrite(d, LATER, s -> s.substring(0, s.length() - 1)));
        notValid(r);
        assertThat(last(r.output())).isEqualTo("TAMPERED");
        assertThat(r.output()).contains("not_canonical (the last line ends without its line feed");
    }

    /**
     * HOLE (verdict downgrade): a forged, canonical call.terminal entry whose record.request is a string (not an
     * object) makes Verifier.payloadFault throw a ClassCastException (`(Map<String, Object>) record.get("request")`),
     * caught in VerifyCommand as "UNVERIFIABLE: the export could not be verified (it could not be read as an export)"
     * (exit 2) instead of TAMPERED (exit 1) naming the position: a forger turns a tampered verdict into an
     * unverifiable one with no reason.
     */
    @Test
    void a_forged_terminal_entry_whose_request_is_a_string() throws Exception {
        Run r = tamper(d -> {
            List<String> l = entries(5, 16);
            Map<String, Object> record = new LinkedHashMap<>();
            record.put("id", "00000000-0000-4000-8000-00000000f006");
            record.put("outcome", "completed");
            record.put("request", "x");
            l.set(1, new String(Canonical.of(EvidenceChain.envelope(VerifierTest.CHAIN, 6,
                    new EvidenceChain.Entry("call.terminal",
                    java.util.UUID.fromString("00000000-0000-4000-8000-00000000f006"),
                    java.time.Instant.parse("2026-11-25T10:00:30Z"), record))), StandardCharsets.UTF_8));
            lines(d, LATER, l);
        });
        notValid(r);
        assertThat(last(r.output())).isEqualTo("TAMPERED");
        assertThat(r.output()).contains("position 6: record_mismatch");
    }

    /**
     * HOLE: section 6.1: "a verifier resolves [paths] inside the export directory only". Export.inside checks the
     * path's text only; a chain file that is a symbolic link to a file outside the export is read (Files.isRegularFile
     * follows links), and the export is VALID.
     */
    @Test
    void the_chain_file_a_symlink_outside_the_export() throws Exception {
        Run r = tamper(d -> {
            try {
                Path outside = Files.createTempFile("attest-outside", ".jsonl");
                Files.copy(d.resolve(LATER), outside, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                Files.delete(d.resolve(LATER));
                Files.createSymbolicLink(d.resolve(LATER), outside);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        notValid(r);
        assertThat(last(r.output())).isEqualTo("TAMPERED");
        assertThat(r.output()).contains("missing_file (a link, or a path outside the export)");
    }
}
