package attest.evidence.chain;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.nio.charset.StandardCharsets;
import java.security.PublicKey;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

/**
 * Receipts (docs/evidence-format.md, section 8): one record's chain entry, its RFC 9162 inclusion proof and the
 * signed checkpoint whose tree head the proof reaches. Anyone holding the public key can verify a receipt
 * offline, without the rest of the log.
 */
public final class Receipts {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HexFormat HEX = HexFormat.of();

    private Receipts() {
    }

    /** The subject (caller) recorded for an evidence record, empty when there is no such record. */
    public static Optional<String> subjectOf(Connection c, UUID recordId) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT subject FROM evidence_record WHERE id = ?")) {
            ps.setObject(1, recordId);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? Optional.of(rs.getString(1) == null ? "" : rs.getString(1)) : Optional.empty();
            }
        }
    }

    /**
     * The receipt of a record: its latest {@code call.*} entry and an inclusion proof against the first checkpoint
     * (format 2) that covers it; empty when the record has no entry or no checkpoint covers it yet.
     */
    public static Optional<ObjectNode> build(Connection c, UUID recordId) throws SQLException {
        String chainId;
        long position;
        byte[] canonical;
        try (PreparedStatement ps = c.prepareStatement("SELECT chain_id, position, canonical FROM evidence_chain "
                + "WHERE subject_id = ? AND kind LIKE 'call.%' ORDER BY recorded_at DESC, position DESC LIMIT 1")) {
            ps.setObject(1, recordId);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return Optional.empty();
                }
                chainId = rs.getString(1);
                position = rs.getLong(2);
                canonical = rs.getBytes(3);
            }
        }
        try (PreparedStatement ps = c.prepareStatement("SELECT size, canonical, signature, key_id, hash FROM "
                + "evidence_checkpoint WHERE chain_id = ? AND size >= ? ORDER BY size, signed_at")) {
            ps.setString(1, chainId);
            ps.setLong(2, position);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    byte[] cp = rs.getBytes(2);
                    if (!new String(cp, StandardCharsets.UTF_8).contains("\"root\":")) {
                        continue; // a checkpoint of format 1 signs no tree head
                    }
                    long size = rs.getLong(1);
                    List<byte[]> proof = Merkle.inclusion(position - 1, size, new MerkleStore(c, chainId, false));
                    ObjectNode r = JSON.createObjectNode();
                    r.put("format", 1);
                    r.put("type", "receipt");
                    r.put("record_id", recordId.toString());
                    r.put("chain_id", chainId);
                    r.put("position", position);
                    r.put("entry", Base64.getEncoder().encodeToString(canonical));
                    r.put("leaf_index", position - 1);
                    r.put("tree_size", size);
                    ArrayNode p = r.putArray("inclusion");
                    proof.forEach(h -> p.add(HEX.formatHex(h)));
                    ObjectNode checkpoint = r.putObject("checkpoint");
                    checkpoint.put("size", size);
                    checkpoint.put("canonical", Base64.getEncoder().encodeToString(cp));
                    checkpoint.put("signature", HEX.formatHex(rs.getBytes(3)));
                    checkpoint.put("key_id", rs.getString(4));
                    checkpoint.put("hash", HEX.formatHex(rs.getBytes(5)));
                    return Optional.of(r);
                }
            }
        }
        return Optional.empty();
    }

    /** Verifies a receipt offline with the trusted keys (section 8.4). */
    public static Verifier.Report verify(byte[] receiptJson, Map<String, PublicKey> keys) {
        List<String> faults = new ArrayList<>();
        List<String> notes = new ArrayList<>();
        JsonNode r;
        try {
            r = JSON.readTree(receiptJson);
        } catch (java.io.IOException e) {
            return new Verifier.Report(Verifier.UNVERIFIABLE, List.of(), List.of(), List.of("receipt: not JSON"));
        }
        String where = "receipt " + r.path("chain_id").asText() + " position " + r.path("position").asLong() + ": ";
        try {
            JsonNode cpNode = r.path("checkpoint");
            byte[] cp = Base64.getDecoder().decode(cpNode.path("canonical").asText());
            // section 6.1: hex is lower case, compared as written; any other spelling is no signature
            byte[] signature = LowerHex.orEmpty(cpNode.path("signature").asText());
            String keyId = cpNode.path("key_id").asText();
            PublicKey key = keys.get(keyId);
            if (key == null) {
                notes.add(where + "no public key for key id " + keyId);
                return new Verifier.Report(Verifier.UNVERIFIABLE, faults, List.of(), notes);
            }
            if (!KeyFileSigner.verify(key, cp, signature)) {
                faults.add(where + "bad_signature (the checkpoint's signature does not verify)");
                return new Verifier.Report(Verifier.TAMPERED, faults, List.of(), notes);
            }
            if (!Canonical.isCanonical(cp)) {
                faults.add(where + "checkpoint_not_canonical");
                return new Verifier.Report(Verifier.TAMPERED, faults, List.of(), notes);
            }
            if (!(Canonical.parse(cp) instanceof Map<?, ?> body)) {
                faults.add(where + "receipt_malformed (the signed checkpoint is not an object)");
                return new Verifier.Report(Verifier.TAMPERED, faults, List.of(), notes);
            }
            long position = integer(r, "position");
            long size = integer(r, "tree_size");
            if (!r.path("chain_id").asText().equals(body.get("chain_id")) || !Long.valueOf(size).equals(body.get("size"))
                    || !keyId.equals(body.get("key_id")) || !(body.get("root") instanceof String root)) {
                faults.add(where + "receipt_mismatch (the checkpoint names another chain, size or key, or signs no "
                        + "tree root)");
                return new Verifier.Report(Verifier.TAMPERED, faults, List.of(), notes);
            }
            byte[] entry = Base64.getDecoder().decode(r.path("entry").asText());
            if (!Canonical.isCanonical(entry)) {
                faults.add(where + "not_canonical");
                return new Verifier.Report(Verifier.TAMPERED, faults, List.of(), notes);
            }
            if (!(Canonical.parse(entry) instanceof Map<?, ?> e)) {
                faults.add(where + "receipt_malformed (the entry is not an object)");
                return new Verifier.Report(Verifier.TAMPERED, faults, List.of(), notes);
            }
            if (!r.path("chain_id").asText().equals(e.get("chain_id")) || !Long.valueOf(position).equals(e.get("position"))
                    || integer(r, "leaf_index") != position - 1
                    || !r.path("record_id").asText().equals(e.get("subject_id"))) {
                faults.add(where + "receipt_mismatch (the entry names another chain, position or record)");
                return new Verifier.Report(Verifier.TAMPERED, faults, List.of(), notes);
            }
            List<byte[]> proof = new ArrayList<>();
            boolean lowerHex = r.path("inclusion").isArray();
            for (JsonNode n : r.path("inclusion")) {
                byte[] node = n.isTextual() ? LowerHex.ofLength(n.asText(), 32) : null;
                lowerHex &= node != null;
                proof.add(node == null ? new byte[0] : node);
            }
            byte[] signedRoot = LowerHex.ofLength(root, 32);
            if (!lowerHex || signedRoot == null
                    || !Merkle.verifyInclusion(position - 1, size, Merkle.leaf(entry), proof, signedRoot)) {
                faults.add(where + "bad_inclusion_proof (the entry is not in the signed tree)");
                return new Verifier.Report(Verifier.TAMPERED, faults, List.of(), notes);
            }
            notes.add(where + "included in the tree of " + size + " entries signed at " + body.get("signed_at")
                    + " (record " + e.get("subject_id") + ", " + e.get("kind") + ")");
            return new Verifier.Report(Verifier.VALID, faults, List.of(), notes);
        } catch (RuntimeException ex) {
            faults.add(where + "receipt_malformed (" + ex.getClass().getSimpleName() + ")");
            return new Verifier.Report(Verifier.TAMPERED, faults, List.of(), notes);
        }
    }

    /** A member that must be a JSON integer (section 8.4): anything else, a string of digits too, is malformed. */
    private static long integer(com.fasterxml.jackson.databind.JsonNode receipt, String member) {
        com.fasterxml.jackson.databind.JsonNode n = receipt.path(member);
        if (!n.isIntegralNumber() || !n.canConvertToLong()) {
            throw new IllegalArgumentException(member + " is not an integer");
        }
        return n.asLong();
    }
}
