package attest.evidence.chain;

import java.security.PublicKey;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

/**
 * Verifies evidence chains without trusting the gateway or the database: positions are contiguous from 1,
 * every entry is still canonical and names its own chain and position, every link and hash holds, the
 * checkpoints' signatures verify with the given public keys and form their own chain, every checkpoint
 * matches the chain at its size (a rewritten or truncated chain cannot match), and the payloads still
 * present match their digests. Entries after the last checkpoint are reported as unanchored (a warning).
 *
 * <p>Exit codes: 0 valid, 1 tampered (the first bad position and the kind of fault are named),
 * 2 unverifiable (for example a checkpoint signed by a key that was not given).
 */
public final class Verifier {
    public static final int VALID = 0;
    public static final int TAMPERED = 1;
    public static final int UNVERIFIABLE = 2;

    /** One stored chain entry. */
    public record Row(long position, byte[] canonical, byte[] hash) {
    }

    /** One stored checkpoint. */
    public record StoredCheckpoint(long size, byte[] canonical, byte[] signature, String keyId, byte[] hash) {
    }

    /** Where evidence is read from: a read-only database connection or an export. */
    public interface Source {
        List<String> chains();

        Iterable<Row> rows(String chainId);

        List<StoredCheckpoint> checkpoints(String chainId);

        /** The SHA-256 (hex) of a record's stored request and response payloads, null where absent or purged. */
        Map<String, String> payloadDigests(String recordId);

        /** Where the rows of a chain start: position 1 from the genesis hash, or (an export) later. */
        default Start start(String chainId) {
            return new Start(1, ChainHash.GENESIS);
        }

        /** Faults found in the source itself (an export whose files do not match its manifest). */
        default List<String> sourceFaults() {
            return List.of();
        }
    }

    /** The first position of a chain's rows and the hash of the entry before it. */
    public record Start(long position, byte[] previousHash) {
    }

    /** What verification found. */
    public record Report(int code, List<String> faults, List<String> warnings, List<String> notes) {
        public String summary() {
            return switch (code) {
                case VALID -> "VALID";
                case TAMPERED -> "TAMPERED";
                default -> "UNVERIFIABLE";
            };
        }
    }

    private final Map<String, PublicKey> keys;

    /** @param keys public keys by key id */
    public Verifier(Map<String, PublicKey> keys) {
        this.keys = keys;
    }

    public Report verify(Source source) {
        List<String> faults = new ArrayList<>();
        List<String> warnings = new ArrayList<>();
        List<String> notes = new ArrayList<>();
        boolean unverifiable = false;
        faults.addAll(source.sourceFaults());
        for (String chainId : faults.isEmpty() ? source.chains() : List.<String>of()) {
            Start start = source.start(chainId);
            Map<Long, byte[]> hashes = new java.util.HashMap<>();
            hashes.put(start.position() - 1, start.previousHash());
            byte[] previous = start.previousHash();
            long expected = start.position();
            boolean broken = false;
            for (Row row : source.rows(chainId)) {
                String at = chainId + " position " + row.position() + ": ";
                if (row.position() != expected) {
                    faults.add(row.position() > expected ? chainId + " position " + expected
                            + ": missing_record (the next stored position is " + row.position() + ")"
                            : at + "duplicate_position");
                    broken = true;
                    break;
                }
                if (!Canonical.isCanonical(row.canonical())) {
                    faults.add(at + "not_canonical");
                    broken = true;
                    break;
                }
                @SuppressWarnings("unchecked")
                Map<String, Object> entry = (Map<String, Object>) Canonical.parse(row.canonical());
                if (!chainId.equals(entry.get("chain_id")) || !Long.valueOf(row.position()).equals(entry.get("position"))) {
                    faults.add(at + "position_mismatch (the entry names another chain or position)");
                    broken = true;
                    break;
                }
                byte[] link = ChainHash.link(previous, row.canonical());
                if (!Arrays.equals(link, row.hash())) {
                    faults.add(at + "hash_mismatch (the stored hash does not follow from the previous hash and this "
                            + "entry's bytes: this entry was edited, or the one before it was edited and rehashed)");
                    broken = true;
                    break;
                }
                String digestFault = payloadFault(source, entry);
                if (digestFault != null) {
                    faults.add(at + digestFault);
                    broken = true;
                    break;
                }
                previous = link;
                hashes.put(row.position(), link);
                expected++;
            }
            long length = expected - 1;
            if (broken) {
                continue;
            }
            byte[] previousCheckpoint = null;
            long anchored = 0;
            for (StoredCheckpoint cp : source.checkpoints(chainId)) {
                String at = chainId + " checkpoint at size " + cp.size() + ": ";
                PublicKey key = keys.get(cp.keyId());
                if (key == null) {
                    notes.add(at + "no public key for key id " + cp.keyId());
                    unverifiable = true;
                    break;
                }
                if (!KeyFileSigner.verify(key, cp.canonical(), cp.signature())) {
                    faults.add(at + "bad_signature");
                    broken = true;
                    break;
                }
                if (!Canonical.isCanonical(cp.canonical())) {
                    faults.add(at + "checkpoint_not_canonical");
                    broken = true;
                    break;
                }
                @SuppressWarnings("unchecked")
                Map<String, Object> body = (Map<String, Object>) Canonical.parse(cp.canonical());
                Object size = body.get("size");
                Object prev = body.get("previous");
                String expectedPrev = previousCheckpoint == null ? null : HexFormat.of().formatHex(previousCheckpoint);
                if (!chainId.equals(body.get("chain_id")) || !Long.valueOf(cp.size()).equals(size)
                        || !cp.keyId().equals(body.get("key_id"))) {
                    faults.add(at + "checkpoint_mismatch (its signed content names another chain, size or key)");
                    broken = true;
                    break;
                }
                if (expectedPrev == null ? prev != null : !expectedPrev.equals(prev)) {
                    faults.add(at + "checkpoint_chain_broken (previous checkpoint hash does not match)");
                    broken = true;
                    break;
                }
                if (!Arrays.equals(ChainHash.checkpoint(cp.canonical()), cp.hash())) {
                    faults.add(at + "checkpoint_hash_mismatch");
                    broken = true;
                    break;
                }
                if (cp.size() < start.position()) {
                    // an export's anchor: signed before the exported rows; its hash links the next checkpoint
                    previousCheckpoint = cp.hash();
                    continue;
                }
                if (cp.size() > length) {
                    faults.add(chainId + " position " + (length + 1) + ": truncated (a signed checkpoint covers "
                            + cp.size() + " records, the chain holds " + length + ")");
                    broken = true;
                    break;
                }
                if (!HexFormat.of().formatHex(hashes.get(cp.size())).equals(body.get("head"))) {
                    faults.add(chainId + " position " + cp.size() + ": checkpoint_mismatch (the chain's hash at this "
                            + "size differs from the signed head: records were rewritten)");
                    broken = true;
                    break;
                }
                previousCheckpoint = cp.hash();
                anchored = cp.size();
            }
            if (!broken && !unverifiable) {
                notes.add(chainId + ": positions " + start.position() + " to " + length
                        + " verified, anchored by signed checkpoints up to " + anchored);
                if (length > anchored) {
                    warnings.add(chainId + ": " + (length - anchored) + " unanchored records after position "
                            + anchored + " (no signed checkpoint covers them yet)");
                }
            }
        }
        int code = !faults.isEmpty() ? TAMPERED : unverifiable ? UNVERIFIABLE : VALID;
        return new Report(code, faults, warnings, notes);
    }

    @SuppressWarnings("unchecked")
    private static String payloadFault(Source source, Map<String, Object> entry) {
        if (!"call.terminal".equals(entry.get("kind")) || !(entry.get("record") instanceof Map<?, ?> record)) {
            return null;
        }
        Map<String, String> stored = source.payloadDigests(String.valueOf(record.get("id")));
        Map<String, Object> req = (Map<String, Object>) record.get("request");
        Map<String, Object> res = (Map<String, Object>) record.get("response");
        String reqDigest = stored.get("request");
        if (reqDigest != null && req != null && req.get("sha256") != null && !reqDigest.equals(req.get("sha256"))) {
            return "payload_digest_mismatch (request)";
        }
        String rawDigest = stored.get("raw");
        if (rawDigest != null && res != null && res.get("raw_sha256") != null && !rawDigest.equals(res.get("raw_sha256"))) {
            return "payload_digest_mismatch (raw response)";
        }
        String resDigest = stored.get("response");
        if (resDigest != null && res != null && res.get("sha256") != null && !Boolean.TRUE.equals(res.get("truncated"))
                && !resDigest.equals(res.get("sha256"))) {
            return "payload_digest_mismatch (response)";
        }
        return null;
    }
}
