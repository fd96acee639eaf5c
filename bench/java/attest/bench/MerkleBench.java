package attest.bench;

import attest.evidence.chain.ChainHash;
import attest.evidence.chain.Merkle;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * The Merkle tree at 10 million entries, in memory (docs/evidence-format.md section 8.5): builds the tree by
 * appends (as the gateway does, frontier plus a cache of subtrees of 256 leaves and more, as in
 * evidence_merkle_node), then times inclusion and consistency proofs and their verification, and the append
 * cost added to the hash chain for entries of a typical size. Run:
 * <pre>mvn -o -q test-compile && java -Xmx512m -cp target/classes:target/test-classes attest.bench.MerkleBench [entries]</pre>
 */
public final class MerkleBench {
    private MerkleBench() {
    }

    static byte[] leafOf(long i) {
        return Merkle.leaf(ByteBuffer.allocate(8).putLong(i).array());
    }

    /** Subtree roots as MerkleStore computes them: cached at level 8 and above, else from a block of leaves. */
    static final class CachedTree implements Merkle.Subtrees {
        final Map<Long, byte[]> cache = new HashMap<>();
        long blockReads;

        public byte[] hash(long start, long size) {
            if (Long.bitCount(size) == 1 && start % size == 0 && size >= 256) {
                byte[] h = cache.get((long) Long.numberOfTrailingZeros(size) << 48 | start / size);
                if (h != null) {
                    return h;
                }
            }
            if (size == 1) {
                return leafOf(start);
            }
            if (start / 256 == (start + size - 1) / 256) {
                blockReads++;
                List<byte[]> leaves = new ArrayList<>();
                for (long i = start; i < start + size; i++) {
                    leaves.add(leafOf(i));
                }
                return Merkle.root(leaves);
            }
            long k = Long.highestOneBit(size - 1);
            return Merkle.node(hash(start, k), hash(start + k, size - k));
        }
    }

    public static void main(String[] args) throws Exception {
        long n = args.length > 0 ? Long.parseLong(args[0]) : 10_000_000L;
        CachedTree tree = new CachedTree();
        Merkle.Frontier f = new Merkle.Frontier();
        long t0 = System.nanoTime();
        for (long i = 0; i < n; i++) {
            f.appendLeaf(leafOf(i), (level, index, hash) -> {
                if (level >= 8) {
                    tree.cache.put((long) level << 48 | index, hash);
                }
            });
        }
        long build = System.nanoTime() - t0;
        byte[] root = f.root();
        System.out.printf("entries %,d: tree built by appends in %.1f s (%.0f ns per leaf, incl. the leaf hash); "
                + "%,d cached subtree roots (%.1f MB)%n", n, build / 1e9, (double) build / n, tree.cache.size(),
                tree.cache.size() * 40 / 1e6);

        Random random = new Random(11);
        int rounds = 2000;
        long proofNanos = 0;
        long verifyNanos = 0;
        int maxLen = 0;
        for (int r = 0; r < rounds; r++) {
            long m = (random.nextLong() & Long.MAX_VALUE) % n;
            long a = System.nanoTime();
            List<byte[]> proof = Merkle.inclusion(m, n, tree);
            long b = System.nanoTime();
            if (!Merkle.verifyInclusion(m, n, leafOf(m), proof, root)) {
                throw new IllegalStateException("proof of " + m + " does not verify");
            }
            verifyNanos += System.nanoTime() - b;
            proofNanos += b - a;
            maxLen = Math.max(maxLen, proof.size());
        }
        System.out.printf("inclusion proof: at most %d hashes (%d bytes; %d hex characters in a receipt); "
                + "%.0f us to build in memory, %.1f us to verify (mean of %d)%n", maxLen, maxLen * 32, maxLen * 64,
                proofNanos / 1e3 / rounds, verifyNanos / 1e3 / rounds, rounds);

        long m1 = n / 3;
        Merkle.Frontier f1 = Merkle.Frontier.of(m1, tree);
        long a = System.nanoTime();
        List<byte[]> consistency = Merkle.consistency(m1, n, tree);
        long b = System.nanoTime();
        boolean ok = Merkle.verifyConsistency(m1, n, f1.root(), root, consistency);
        System.out.printf("consistency proof %,d -> %,d: %d hashes, %.0f us to build, %.1f us to verify (%s)%n", m1, n,
                consistency.size(), (b - a) / 1e3, (System.nanoTime() - b) / 1e3, ok);

        // the append cost: the hash chain alone, then with the leaf hash and the frontier, for 1.5 KB entries
        byte[] entry = new byte[1536];
        random.nextBytes(entry);
        int appends = 200_000;
        for (int warm = 0; warm < 2; warm++) {
            byte[] head = ChainHash.GENESIS;
            long c0 = System.nanoTime();
            for (int i = 0; i < appends; i++) {
                head = ChainHash.link(head, entry);
            }
            long chainOnly = System.nanoTime() - c0;
            Merkle.Frontier g = new Merkle.Frontier();
            head = ChainHash.GENESIS;
            c0 = System.nanoTime();
            for (int i = 0; i < appends; i++) {
                head = ChainHash.link(head, entry);
                g.appendLeaf(Merkle.leaf(entry), null);
            }
            g.encode();
            long withTree = System.nanoTime() - c0;
            if (warm == 1) {
                System.out.printf("append of a 1.5 KB entry: hash chain %.2f us, with the Merkle leaf and frontier "
                        + "%.2f us (+%.2f us per entry)%n", chainOnly / 1e3 / appends, withTree / 1e3 / appends,
                        (withTree - chainOnly) / 1e3 / appends);
            }
        }
        MessageDigest.getInstance("SHA-256");
    }
}
