package attest.evidence.chain;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.PublicKey;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Evidence export for a time range (docs/evidence-format.md, section 6): for each chain, the canonical
 * entries recorded in the range and on to the first signed checkpoint that covers them, the hash just
 * before them (the anchor), those checkpoints and the one before them, the public keys with their
 * fingerprints, a manifest with the SHA-256 of every file, and a README on how to verify.
 */
public final class Export {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HexFormat HEX = HexFormat.of();

    private Export() {
    }

    /** Writes the export into {@code out} (created; must be empty or absent); returns the number of entries. */
    public static long write(Connection c, Instant from, Instant to, List<PublicKey> keys, Path out)
            throws SQLException, IOException {
        return write(c, from, to, keys, out, java.time.Duration.ZERO);
    }

    /**
     * Writes a range-proof export of [from, to): for every chain the store knows of, the last checkpoint signed at
     * or before {@code from} (the opening one) and every entry after it, up to the first checkpoint signed at or
     * after {@code to} (the closing one), waiting up to {@code wait} for that one to be signed (heartbeats).
     */
    public static long write(Connection c, Instant from, Instant to, List<PublicKey> keys, Path out,
                             java.time.Duration wait) throws SQLException, IOException {
        try (java.sql.Statement st = c.createStatement()) {
            // the store's own tables, never a look-alike on this login's search path; a row-level security policy
            // that would filter a read fails it instead of leaving a chain out
            st.execute("SET search_path = pg_catalog, public");
            st.execute("SET row_security = off");
        }
        List<String> changed = ReadPath.check(c, false).faults();
        if (!changed.isEmpty()) {
            throw new IllegalStateException("the store is read through objects its owner changed: "
                    + String.join("; ", changed));
        }
        Files.createDirectories(out.resolve("chains"));
        Files.createDirectories(out.resolve("checkpoints"));
        Files.createDirectories(out.resolve("keys"));
        ObjectNode manifest = JSON.createObjectNode();
        manifest.put("format", 2);
        manifest.put("from", from.toString());
        manifest.put("to", to.toString());
        manifest.put("created_at", Instant.now().toString());
        ArrayNode chains = manifest.putArray("chains");
        long total = 0;
        List<String> chainIds = new ArrayList<>(new java.util.TreeSet<>(strings(c, "SELECT DISTINCT chain_id FROM "
                + "evidence_chain UNION SELECT chain_id FROM evidence_checkpoint UNION SELECT chain_id FROM "
                + "evidence_chain_head UNION SELECT chain_id FROM evidence_instance", null)));
        Instant deadline = Instant.now().plus(wait);
        for (String chainId : chainIds) {
            Cp opening = checkpoint(c, chainId, "signed_at <= ? ORDER BY signed_at DESC, size DESC", from);
            Cp closing = checkpoint(c, chainId, "signed_at >= ? ORDER BY signed_at, size", to);
            while (closing == null && !to.isAfter(deadline) && Instant.now().isBefore(deadline)) {
                Cp last = checkpoint(c, chainId, "true ORDER BY size DESC, signed_at DESC", null);
                if (last != null && last.stopped()) {
                    break; // the instance stopped: no heartbeat will come
                }
                try {
                    Thread.sleep(200); // polling the store for the heartbeat the instance signs every T
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
                closing = checkpoint(c, chainId, "signed_at >= ? ORDER BY signed_at, size", to);
            }
            if (closing == null) {
                // none yet: the latest one; the verifier reports the uncovered end of the range
                closing = checkpoint(c, chainId, "true ORDER BY size DESC, signed_at DESC", null);
            }
            long first = opening == null ? 1 : opening.size() + 1;
            long end = closing == null ? maxPosition(c, chainId) : closing.size();
            byte[] anchor = opening == null ? ChainHash.GENESIS : opening.head();
            Merkle.Frontier frontier = Merkle.Frontier.of(first - 1, new MerkleStore(c, chainId, false));
            String file = safe(chainId);
            StringBuilder lines = new StringBuilder();
            long count = 0;
            try (PreparedStatement ps = c.prepareStatement("SELECT canonical FROM evidence_chain WHERE chain_id = ? "
                    + "AND position BETWEEN ? AND ? ORDER BY position")) {
                ps.setString(1, chainId);
                ps.setLong(2, first);
                ps.setLong(3, end);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        lines.append(new String(rs.getBytes(1), StandardCharsets.UTF_8)).append('\n');
                        count++;
                    }
                }
            }
            Files.writeString(out.resolve("chains/" + file + ".jsonl"), lines.toString());
            StringBuilder cps = new StringBuilder();
            try (PreparedStatement ps = c.prepareStatement("""
                    SELECT size, canonical, signature, key_id, hash FROM evidence_checkpoint
                    WHERE chain_id = ? AND (size, signed_at) >= (?, ?) AND (size, signed_at) <= (?, ?)
                    ORDER BY size, signed_at""")) {
                ps.setString(1, chainId);
                ps.setLong(2, opening == null ? 0 : opening.size());
                ps.setTimestamp(3, opening == null ? new Timestamp(0) : opening.at());
                ps.setLong(4, closing == null ? -1 : closing.size());
                ps.setTimestamp(5, closing == null ? new Timestamp(0) : closing.at());
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        ObjectNode cp = JSON.createObjectNode();
                        cp.put("size", rs.getLong(1));
                        cp.put("canonical", Base64.getEncoder().encodeToString(rs.getBytes(2)));
                        cp.put("signature", HEX.formatHex(rs.getBytes(3)));
                        cp.put("key_id", rs.getString(4));
                        cp.put("hash", HEX.formatHex(rs.getBytes(5)));
                        cps.append(cp).append('\n');
                    }
                }
            }
            Files.writeString(out.resolve("checkpoints/" + file + ".jsonl"), cps.toString());
            ObjectNode ch = chains.addObject();
            ch.put("chain_id", chainId);
            ch.put("file", "chains/" + file + ".jsonl");
            ch.put("checkpoints", "checkpoints/" + file + ".jsonl");
            ch.put("first_position", first);
            ch.put("last_position", first + count - 1);
            Long lastInRange = lastInRange(c, chainId, to);
            if (lastInRange == null) {
                ch.putNull("last_in_range");
            } else {
                ch.put("last_in_range", lastInRange);
            }
            ch.put("anchor_hash", HEX.formatHex(anchor));
            ArrayNode f = ch.putArray("frontier");
            frontier.nodes().forEach(n -> f.add(HEX.formatHex(n)));
            total += count;
        }
        StringBuilder fingerprints = new StringBuilder("# key id, SHA-256 of the X.509 public key\n");
        for (PublicKey k : keys) {
            String id = KeyFileSigner.keyId(k);
            Files.writeString(out.resolve("keys/" + id + ".pub"), Base64.getEncoder().encodeToString(k.getEncoded())
                    + "\n");
            fingerprints.append(id).append(' ').append(HEX.formatHex(sha256(k.getEncoded()))).append('\n');
        }
        Files.writeString(out.resolve("keys/fingerprints.txt"), fingerprints.toString());
        Files.writeString(out.resolve("README.md"), README);
        ObjectNode files = manifest.putObject("files");
        Map<String, String> digests = new TreeMap<>();
        try (var walk = Files.walk(out)) {
            for (Path f : walk.filter(Files::isRegularFile).toList()) {
                String rel = out.relativize(f).toString().replace('\\', '/');
                if (!rel.equals("manifest.json")) {
                    digests.put(rel, HEX.formatHex(sha256(Files.readAllBytes(f))));
                }
            }
        }
        digests.forEach(files::put);
        Files.writeString(out.resolve("manifest.json"), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(manifest));
        return total;
    }

    /**
     * An export that cannot be read at all (section 6.2: UNVERIFIABLE): no such directory, an empty one, no manifest or
     * one that is not a JSON object. The message says which, for the auditor; it names no exception.
     */
    public static final class Unreadable extends RuntimeException {
        Unreadable(String message) {
            super(message, null, false, false);
        }
    }

    /** The manifest, or {@link Unreadable} saying why there is none to read. */
    private static JsonNode manifest(Path dir) {
        if (!Files.isDirectory(dir)) {
            throw new Unreadable(Files.exists(dir) ? "not a directory" : "no such directory");
        }
        Path file = dir.resolve("manifest.json");
        if (!Files.exists(file)) {
            try (var entries = Files.list(dir)) {
                throw new Unreadable(entries.findAny().isEmpty() ? "the directory is empty (no manifest.json)"
                        : "no manifest.json");
            } catch (IOException e) {
                throw new Unreadable("the directory cannot be listed");
            }
        }
        JsonNode manifest;
        try {
            manifest = JSON.readTree(Files.readAllBytes(file));
        } catch (com.fasterxml.jackson.core.JacksonException e) {
            throw new Unreadable("manifest.json is not valid JSON");
        } catch (IOException e) {
            throw new Unreadable("manifest.json cannot be read");
        }
        if (manifest == null || !manifest.isObject()) {
            throw new Unreadable("manifest.json is not a JSON object");
        }
        return manifest;
    }

    /**
     * Reads an export for the verifier.
     *
     * @throws Unreadable when there is no manifest to read
     */
    public static Verifier.Source read(Path dir) {
        JsonNode manifest = manifest(dir);
        // section 6.2: formats 1 and 2; any other is an export this verifier cannot read, never one it reads as 2
        JsonNode format = manifest.path("format");
        if (!format.isIntegralNumber() || !format.canConvertToLong() || format.asLong() < 1 || format.asLong() > 2) {
            throw new Unreadable("unknown export format (" + (format.isMissingNode() ? "none given" : format) + ")");
        }
        List<String> sourceFaults = new ArrayList<>();
        List<String> lateFaults = new ArrayList<>();
        manifest.path("files").fields().forEachRemaining(e -> {
            Path f = dir.resolve(e.getKey());
            try {
                if (!inside(dir, e.getKey()) || !Files.isRegularFile(f)) {
                    sourceFaults.add("export: " + e.getKey() + ": missing_file");
                } else if (!contained(dir, e.getKey())) {
                    sourceFaults.add("export: " + e.getKey() + ": missing_file (a link, or a path outside the export)");
                } else if (!HEX.formatHex(sha256(Files.readAllBytes(f))).equals(e.getValue().asText())) {
                    sourceFaults.add("export: " + e.getKey() + ": manifest_mismatch (the file was changed)");
                }
            } catch (IOException ex) {
                sourceFaults.add("export: " + e.getKey() + ": missing_file (it cannot be read)");
            }
        });
        Map<String, JsonNode> byChain = new TreeMap<>();
        if (!manifest.path("chains").isArray()) {
            sourceFaults.add("export: manifest.json: missing_file (chains is not an array)");
        }
        for (JsonNode n : manifest.path("chains").isArray() ? manifest.path("chains") : JSON.createArrayNode()) {
            // section 6.2: one object per chain; a chain named twice is read by no one the same way (the first, the
            // last, both): none of them is trusted
            String id = n.path("chain_id").asText();
            if (!n.isObject() || !n.path("chain_id").isTextual()) {
                sourceFaults.add("export: manifest.json: missing_file (a chain object without a chain_id)");
            } else if (byChain.putIfAbsent(id, n) != null) {
                sourceFaults.add(id + " position " + n.path("first_position") + ": position_mismatch (the chain is "
                        + "listed twice in the manifest)");
            }
        }
        byChain.forEach((id, n) -> {
            for (String member : List.of("file", "checkpoints")) {
                if (!inside(dir, n.path(member).asText()) || (Files.exists(dir.resolve(n.path(member).asText()),
                        LinkOption.NOFOLLOW_LINKS) && !contained(dir, n.path(member).asText()))) {
                    String fault = "export: " + n.path(member).asText() + ": missing_file (a link, or a path outside "
                            + "the export)";
                    if (!sourceFaults.contains(fault)) {
                        sourceFaults.add(fault);
                    }
                } else if (!Files.isRegularFile(dir.resolve(n.path(member).asText()))
                        || !Files.isReadable(dir.resolve(n.path(member).asText()))) {
                    String fault = "export: " + n.path(member).asText() + ": missing_file";
                    if (!sourceFaults.contains(fault)) {
                        sourceFaults.add(fault); // unless the manifest's files already said so
                    }
                } else if (member.equals("checkpoints")) {
                    Lines cps = lines(dir, n.path(member).asText());
                    int line = 0;
                    for (byte[] l : cps.lines()) {
                        line++;
                        if (!checkpointLine(l)) {
                            sourceFaults.add(id + " checkpoint line " + line + ": checkpoint_mismatch (not a JSON "
                                    + "object with base64 canonical bytes and an integer size)");
                            break;
                        }
                    }
                    if (!cps.terminated()) {
                        sourceFaults.add(id + " checkpoint line " + cps.lines().size() + ": checkpoint_mismatch (the "
                                + "last line ends without its line feed, section 6.1)");
                    }
                } else {
                    Lines entries = lines(dir, n.path(member).asText());
                    JsonNode first = n.path("first_position");
                    JsonNode last = n.path("last_position");
                    long lastRead = first.asLong() + entries.lines().size() - 1;
                    if (!entries.terminated()) {
                        sourceFaults.add(id + " position " + lastRead + ": not_canonical (the last line ends without "
                                + "its line feed, section 6.1)");
                    }
                    if (n.has("last_position") && !(last.isIntegralNumber() && last.canConvertToLong()
                            && first.isIntegralNumber() && first.canConvertToLong() && last.asLong() == lastRead)) {
                        lateFaults.add(id + " position " + last + ": position_mismatch (last_position is not the "
                                + "last line's position, " + lastRead + ")");
                    }
                }
            }
            // section 6.2: a position is an integer from 1 (a long); 2^64 + 5 is no position, never 5
            JsonNode fp = n.path("first_position");
            if (!fp.isIntegralNumber() || !fp.canConvertToLong() || fp.asLong() < 1) {
                sourceFaults.add(id + " position " + fp + ": position_mismatch (first_position "
                        + "is not an integer from 1)");
            }
            if (n.has("frontier") && !n.path("frontier").isArray()) {
                sourceFaults.add(id + " position " + n.path("first_position").asLong() + ": anchor_mismatch (the "
                        + "frontier is not an array)");
            } else if (n.has("frontier") && n.path("frontier").size() != Long.bitCount(n.path("first_position").asLong() - 1)) {
                sourceFaults.add(id + " position " + n.path("first_position").asLong() + ": anchor_mismatch (the "
                        + "frontier does not have one node per set bit of first_position - 1)");
            }
            // section 6.1: hex is lower case, compared as written; any other spelling is no hash at all
            boolean badHex = LowerHex.ofLength(n.path("anchor_hash").asText(null), 32) == null;
            for (JsonNode node : n.path("frontier")) {
                badHex |= !node.isTextual() || LowerHex.ofLength(node.asText(), 32) == null;
            }
            if (badHex) {
                sourceFaults.add(id + " position " + n.path("first_position").asLong() + ": anchor_mismatch (the "
                        + "anchor_hash or a frontier node is not 64 lower-case hex digits)");
            }
        });
        return new Verifier.Source() {
            public List<String> chains() {
                return List.copyOf(byChain.keySet());
            }

            public Iterable<Verifier.Row> rows(String chainId) {
                JsonNode ch = byChain.get(chainId);
                List<Verifier.Row> rows = new ArrayList<>();
                long position = ch.path("first_position").asLong();
                byte[] prev = anchor(ch);
                for (byte[] line : lines(dir, ch.path("file").asText()).lines()) {
                    // an export carries no stored hashes: each is recomputed, and checkpoints anchor them
                    prev = ChainHash.link(prev, line);
                    rows.add(new Verifier.Row(position++, line, prev));
                }
                return rows;
            }

            public List<Verifier.StoredCheckpoint> checkpoints(String chainId) {
                List<Verifier.StoredCheckpoint> out = new ArrayList<>();
                for (byte[] line : lines(dir, byChain.get(chainId).path("checkpoints").asText()).lines()) {
                    JsonNode n = checkpointNode(line); // each line was checked above (a source fault otherwise)
                    // a size that is not an integer, or a hash not in lower-case hex, cannot match the signed
                    // bytes (section 6.3)
                    // (2^64 + N is no size, never N)
                    out.add(new Verifier.StoredCheckpoint(n.path("size").isIntegralNumber()
                            && n.path("size").canConvertToLong() ? n.path("size").asLong() : -1,
                            Base64.getDecoder().decode(n.path("canonical").asText()),
                            LowerHex.orEmpty(n.path("signature").asText()), n.path("key_id").asText(),
                            LowerHex.orEmpty(n.path("hash").asText())));
                }
                return out;
            }

            public Map<String, String> payloadDigests(String recordId) {
                return Map.of();
            }

            public Verifier.Start start(String chainId) {
                JsonNode ch = byChain.get(chainId);
                return new Verifier.Start(ch.path("first_position").asLong(), anchor(ch));
            }

            public List<String> sourceFaults() {
                return sourceFaults;
            }

            public List<String> lateFaults() {
                return lateFaults;
            }

            public Merkle.Frontier frontier(String chainId) {
                JsonNode ch = byChain.get(chainId);
                if (!ch.has("frontier")) {
                    // nothing precedes position 1; after it, an export of format 1 (roots are not recomputed), which
                    // the verifier accepts only if no checkpoint of the chain is of format 2
                    return ch.path("first_position").asLong() == 1 ? new Merkle.Frontier() : null;
                }
                List<byte[]> nodes = new ArrayList<>();
                // a node that is not lower-case hex is a source fault (above); it counts as no bytes here
                if (ch.path("frontier").isArray()) { // an object is a source fault (above)
                    ch.path("frontier").forEach(n -> nodes.add(LowerHex.orEmpty(n.asText())));
                }
                return Merkle.Frontier.of(ch.path("first_position").asLong() - 1, nodes);
            }

            public boolean whole() {
                return false;
            }
        };
    }

    /** A checkpoint line as JSON, or null when it is not an object whose {@code canonical} is base64. */
    private static JsonNode checkpointNode(byte[] line) {
        try {
            JsonNode n = JSON.readTree(line);
            if (n == null || !n.isObject() || !n.path("canonical").isTextual()
                    || (n.path("size").isIntegralNumber() && !n.path("size").canConvertToLong())) {
                return null;
            }
            Base64.getDecoder().decode(n.path("canonical").asText());
            return n;
        } catch (IOException | IllegalArgumentException e) {
            return null;
        }
    }

    private static boolean checkpointLine(byte[] line) {
        return checkpointNode(line) != null;
    }

    /**
     * A manifest path that names a regular file inside the export, read through no link (section 6.1: a verifier
     * resolves paths inside the export directory only): the file is no symbolic link, and its real path is under the
     * export directory's real path (no directory on the way is a link out of it either).
     */
    private static boolean contained(Path dir, String path) {
        if (!inside(dir, path)) {
            return false;
        }
        Path f = dir.resolve(path);
        try {
            return Files.isRegularFile(f, LinkOption.NOFOLLOW_LINKS)
                    && f.toRealPath().startsWith(dir.toRealPath());
        } catch (IOException e) {
            return false;
        }
    }

    /** A manifest path that stays inside the export (section 6.1: relative, with '/', never '..'). */
    private static boolean inside(Path dir, String path) {
        if (path.isEmpty() || path.startsWith("/") || path.contains("\\") || List.of(path.split("/")).contains("..")) {
            return false;
        }
        Path base = dir.toAbsolutePath().normalize();
        return base.resolve(path).normalize().startsWith(base);
    }

    /**
     * The manifest's anchor hash; one that is not 64 lower-case hex digits is a source fault (above) and anchors
     * nothing here: no hash is empty, so no signed head can follow from it.
     */
    private static byte[] anchor(JsonNode chain) {
        return LowerHex.orEmpty(chain.path("anchor_hash").asText());
    }

    /** A file's lines, and whether its last line ended with its line feed. */
    private record Lines(List<byte[]> lines, boolean terminated) {
    }

    /**
     * Each line is the bytes before one line feed (section 6.1): a carriage return stays in its line, which is then
     * not canonical; an empty line is a line (not canonical, never skipped); a last line without its line feed is
     * read and reported ({@link Lines#terminated()}). Split as bytes, never decoded: a line that is not UTF-8 stays as
     * it is, and is then not canonical either. A path that is not a regular file inside the export (a link) is never
     * read: no lines (a source fault above).
     */
    private static Lines lines(Path dir, String path) {
        if (!contained(dir, path)) {
            return new Lines(List.of(), true);
        }
        Path f = dir.resolve(path);
        byte[] all;
        try {
            all = Files.readAllBytes(f);
        } catch (IOException e) {
            throw new Unreadable(f.getFileName() + " cannot be read");
        }
        List<byte[]> out = new ArrayList<>();
        int start = 0;
        for (int i = 0; i < all.length; i++) {
            if (all[i] == '\n') {
                out.add(java.util.Arrays.copyOfRange(all, start, i));
                start = i + 1;
            }
        }
        if (start < all.length) {
            out.add(java.util.Arrays.copyOfRange(all, start, all.length));
        }
        return new Lines(out, start == all.length);
    }

    private record Cp(long size, byte[] head, Timestamp at, boolean stopped) {
    }

    private static Cp checkpoint(Connection c, String chainId, String condition, Instant at) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT size, head, signed_at, canonical FROM evidence_checkpoint "
                + "WHERE chain_id = ? AND " + condition + " LIMIT 1")) {
            ps.setString(1, chainId);
            if (at != null) {
                ps.setTimestamp(2, Timestamp.from(at));
            }
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return null;
                }
                return new Cp(rs.getLong(1), rs.getBytes(2), rs.getTimestamp(3), new String(rs.getBytes(4),
                        StandardCharsets.UTF_8).contains("\"state\":\"" + Checkpoints.STOPPED + "\""));
            }
        }
    }

    private static long maxPosition(Connection c, String chainId) throws SQLException {
        List<String> l = strings(c, "SELECT coalesce(max(position), 0) FROM evidence_chain WHERE chain_id = ?", chainId);
        return Long.parseLong(l.get(0));
    }

    private static Long lastInRange(Connection c, String chainId, Instant to) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT max(position) FROM evidence_chain WHERE chain_id = ? "
                + "AND recorded_at < ?")) {
            ps.setString(1, chainId);
            ps.setTimestamp(2, Timestamp.from(to));
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() && rs.getObject(1) != null ? rs.getLong(1) : null;
            }
        }
    }

    private static List<String> strings(Connection c, String sql, String parameter) throws SQLException {
        List<String> out = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            if (parameter != null) {
                ps.setString(1, parameter);
            }
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(rs.getString(1));
                }
            }
        }
        return out;
    }

    private static String safe(String chainId) {
        return chainId.replaceAll("[^A-Za-z0-9._-]", "_");
    }

    private static byte[] sha256(byte[] b) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(b);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    static final String README = """
            # Attest evidence export

            - `manifest.json`: the time range, each chain's first exported position, the hash of the entry just
              before it (`anchor_hash`), the Merkle frontier before it, and the SHA-256 of every other file.
            - `chains/<chain>.jsonl`: the chain's entries, one per line, each line exactly the canonical bytes
              that were hashed (RFC 8785 JSON; canonical JSON holds no raw line breaks).
            - `checkpoints/<chain>.jsonl`: signed checkpoints: `canonical` (base64 of the signed bytes),
              `signature` (hex, Ed25519), `key_id`, `hash`. The first may predate the entries: it links the
              checkpoint chain.
            - `keys/<key id>.pub`: the public keys (base64 X.509); `keys/fingerprints.txt`: their SHA-256.

            Verify with Attest's verifier (exit 0 valid, 1 tampered, 2 unverifiable):

                attest.VerifyCommand --export <this directory> --from <F> --to <T> [--witness FILE] \
                    --public-key <the key, from its owner>

            With --from/--to (the range you asked for) a trimmed head or tail, a missing heartbeat or a chain
            left out is INCOMPLETE (exit 1). The first line of each checkpoint file is the opening checkpoint
            (signed at or before F), the last the closing one (signed at or after T).

            or with your own, from docs/evidence-format.md: starting from `anchor_hash`, compute
            hash(n) = SHA-256("attest.evidence.v1" 0x00 || hash(n-1) || line n) for every line, check that every
            line is canonical and names its chain and position, check each checkpoint's Ed25519 signature over its
            canonical bytes and that its `head` equals hash(size) and its `previous` the previous checkpoint's
            hash. Obtain the public key's fingerprint from its owner, not from this export.
            """;
}
