package attest.evidence.chain;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The RFC 9162 (Certificate Transparency v2) Merkle tree over a chain's entries, next to the hash links
 * (docs/evidence-format.md, section 8): leaf {@code i} (0-based; the entry at position {@code i + 1}) hashes as
 * {@code SHA-256(0x00 || canonical)}, an interior node as {@code SHA-256(0x01 || left || right)}, the empty tree
 * as {@code SHA-256()}; the tree of {@code n} leaves splits at the largest power of two below {@code n}.
 * Inclusion and consistency proofs follow RFC 9162, sections 2.1.3 and 2.1.4.
 */
public final class Merkle {
    /** The root of subtrees by leaf range: a complete tree in memory, or a database with a node cache. */
    public interface Subtrees {
        /** MTH of leaves {@code [start, start + size)}, {@code size >= 1}. */
        byte[] hash(long start, long size);
    }

    private Merkle() {
    }

    public static byte[] leaf(byte[] canonical) {
        MessageDigest md = sha256();
        md.update((byte) 0);
        md.update(canonical);
        return md.digest();
    }

    public static byte[] node(byte[] left, byte[] right) {
        MessageDigest md = sha256();
        md.update((byte) 1);
        md.update(left);
        md.update(right);
        return md.digest();
    }

    public static byte[] empty() {
        return sha256().digest();
    }

    /** The largest power of two strictly below {@code n} ({@code n >= 2}). */
    static long split(long n) {
        return Long.highestOneBit(n - 1);
    }

    /** MTH of leaf hashes held in memory. */
    public static byte[] root(List<byte[]> leaves) {
        return leaves.isEmpty() ? empty() : memory(leaves).hash(0, leaves.size());
    }

    /** Subtrees of leaf hashes held in memory (recomputed on each call; for tests, exports and verifiers). */
    public static Subtrees memory(List<byte[]> leaves) {
        return new Subtrees() {
            public byte[] hash(long start, long size) {
                if (size == 1) {
                    return leaves.get((int) start);
                }
                long k = split(size);
                return node(hash(start, k), hash(start + k, size - k));
            }
        };
    }

    /** RFC 9162 PATH(m, D[n]): the inclusion proof of leaf {@code m} in the tree of {@code n} leaves. */
    public static List<byte[]> inclusion(long m, long n, Subtrees t) {
        if (m < 0 || m >= n) {
            throw new IllegalArgumentException("leaf " + m + " is not in a tree of " + n);
        }
        List<byte[]> out = new ArrayList<>();
        path(m, 0, n, t, out);
        return out;
    }

    private static void path(long m, long start, long n, Subtrees t, List<byte[]> out) {
        if (n == 1) {
            return;
        }
        long k = split(n);
        if (m < k) {
            path(m, start, k, t, out);
            out.add(t.hash(start + k, n - k));
        } else {
            path(m - k, start + k, n - k, t, out);
            out.add(t.hash(start, k));
        }
    }

    /** RFC 9162 section 2.1.3.2: whether {@code proof} proves leaf {@code m} of a tree of {@code n} has root. */
    public static boolean verifyInclusion(long m, long n, byte[] leafHash, List<byte[]> proof, byte[] root) {
        if (m < 0 || m >= n) {
            return false;
        }
        long fn = m;
        long sn = n - 1;
        byte[] r = leafHash;
        for (byte[] p : proof) {
            if (sn == 0) {
                return false;
            }
            if ((fn & 1) == 1 || fn == sn) {
                r = node(p, r);
                if ((fn & 1) == 0) {
                    while ((fn & 1) == 0 && fn != 0) {
                        fn >>= 1;
                        sn >>= 1;
                    }
                }
            } else {
                r = node(r, p);
            }
            fn >>= 1;
            sn >>= 1;
        }
        return sn == 0 && Arrays.equals(r, root);
    }

    /** RFC 9162 PROOF(m, D[n]): the consistency proof that the tree of {@code n} extends that of {@code m}. */
    public static List<byte[]> consistency(long m, long n, Subtrees t) {
        if (m < 1 || m > n) {
            throw new IllegalArgumentException("no consistency proof from " + m + " to " + n);
        }
        List<byte[]> out = new ArrayList<>();
        if (m < n) {
            subproof(m, 0, n, true, t, out);
        }
        return out;
    }

    private static void subproof(long m, long start, long n, boolean b, Subtrees t, List<byte[]> out) {
        if (m == n) {
            if (!b) {
                out.add(t.hash(start, n));
            }
            return;
        }
        long k = split(n);
        if (m <= k) {
            subproof(m, start, k, b, t, out);
            out.add(t.hash(start + k, n - k));
        } else {
            subproof(m - k, start + k, n - k, false, t, out);
            out.add(t.hash(start, k));
        }
    }

    /** RFC 9162 section 2.1.4.2: whether {@code proof} shows that root2 (size n) extends root1 (size m). */
    public static boolean verifyConsistency(long m, long n, byte[] root1, byte[] root2, List<byte[]> proof) {
        if (m < 1 || m > n) {
            return false;
        }
        if (m == n) {
            return proof.isEmpty() && Arrays.equals(root1, root2);
        }
        List<byte[]> p = new ArrayList<>(proof);
        if (Long.bitCount(m) == 1) { // m is a power of two: the old root is the first node of the path
            p.add(0, root1);
        }
        if (p.isEmpty()) {
            return false;
        }
        long fn = m - 1;
        long sn = n - 1;
        while ((fn & 1) == 1) {
            fn >>= 1;
            sn >>= 1;
        }
        byte[] fr = p.get(0);
        byte[] sr = p.get(0);
        for (int i = 1; i < p.size(); i++) {
            byte[] c = p.get(i);
            if (sn == 0) {
                return false;
            }
            if ((fn & 1) == 1 || fn == sn) {
                fr = node(c, fr);
                sr = node(c, sr);
                if ((fn & 1) == 0) {
                    while ((fn & 1) == 0 && fn != 0) {
                        fn >>= 1;
                        sn >>= 1;
                    }
                }
            } else {
                sr = node(sr, c);
            }
            fn >>= 1;
            sn >>= 1;
        }
        return sn == 0 && Arrays.equals(fr, root1) && Arrays.equals(sr, root2);
    }

    /**
     * The compact frontier of a tree: the roots of its perfect subtrees, largest (leftmost) first, one per set
     * bit of the size. Appending a leaf is O(log n) and needs no other stored node; the root folds them right
     * to left. {@link #appendLeaf} reports each perfect subtree it completes, so a store may cache them.
     */
    public static final class Frontier {
        /** A perfect subtree completed by an append: {@code 2^level} leaves from {@code index * 2^level}. */
        public interface Completed {
            void subtree(int level, long index, byte[] hash);
        }

        private final List<byte[]> nodes;
        private long size;

        public Frontier() {
            this(0, new ArrayList<>());
        }

        private Frontier(long size, List<byte[]> nodes) {
            this.size = size;
            this.nodes = nodes;
        }

        public long size() {
            return size;
        }

        public List<byte[]> nodes() {
            return List.copyOf(nodes);
        }

        public void appendLeaf(byte[] leafHash, Completed completed) {
            byte[] h = leafHash;
            int level = 0;
            long n = size;
            while ((n & 1) == 1) {
                h = node(nodes.remove(nodes.size() - 1), h);
                level++;
                n >>= 1;
                if (completed != null) {
                    completed.subtree(level, ((size + 1) >> level) - 1, h);
                }
            }
            nodes.add(h);
            size++;
        }

        public byte[] root() {
            if (nodes.isEmpty()) {
                return empty();
            }
            byte[] r = nodes.get(nodes.size() - 1);
            for (int i = nodes.size() - 2; i >= 0; i--) {
                r = node(nodes.get(i), r);
            }
            return r;
        }

        /** The frontier of the first {@code size} leaves, from subtree roots. */
        public static Frontier of(long size, Subtrees t) {
            List<byte[]> nodes = new ArrayList<>();
            long start = 0;
            for (int bit = 62; bit >= 0; bit--) {
                long s = 1L << bit;
                if ((size & s) != 0) {
                    nodes.add(t.hash(start, s));
                    start += s;
                }
            }
            return new Frontier(size, nodes);
        }

        /** From its nodes (one per set bit of size, largest first); null when their number does not fit. */
        public static Frontier of(long size, List<byte[]> nodes) {
            if (size < 0 || Long.bitCount(size) != nodes.size()) {
                return null;
            }
            return new Frontier(size, new ArrayList<>(nodes));
        }

        public byte[] encode() {
            byte[] out = new byte[32 * nodes.size()];
            for (int i = 0; i < nodes.size(); i++) {
                System.arraycopy(nodes.get(i), 0, out, 32 * i, 32);
            }
            return out;
        }

        public static Frontier decode(long size, byte[] encoded) {
            List<byte[]> nodes = new ArrayList<>();
            for (int i = 0; i + 32 <= encoded.length; i += 32) {
                nodes.add(Arrays.copyOfRange(encoded, i, i + 32));
            }
            return of(size, nodes);
        }
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
