package attest.evidence.chain;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The RFC 9162 tree: the frontier's root equals the recursive definition for every size, every inclusion and
 * consistency proof up to 40 leaves verifies, and any changed leaf, node, index or size makes it fail.
 */
class MerkleTest {
    static List<byte[]> leaves(int n) {
        List<byte[]> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(Merkle.leaf(("leaf " + i).getBytes(StandardCharsets.UTF_8)));
        }
        return out;
    }

    @Test
    void should_give_the_rfc_9162_root_from_the_frontier_for_every_size() {
        List<byte[]> all = leaves(70);
        Merkle.Frontier f = new Merkle.Frontier();
        List<String> completed = new ArrayList<>();
        assertThat(f.root()).isEqualTo(Merkle.empty());
        for (int n = 1; n <= all.size(); n++) {
            f.appendLeaf(all.get(n - 1), (level, index, hash) -> {
                assertThat(hash).isEqualTo(Merkle.memory(all).hash(index << level, 1L << level));
                completed.add(level + ":" + index);
            });
            List<byte[]> prefix = all.subList(0, n);
            assertThat(f.root()).as("size " + n).isEqualTo(Merkle.root(prefix));
            Merkle.Frontier decoded = Merkle.Frontier.decode(n, f.encode());
            assertThat(decoded.root()).isEqualTo(f.root());
            assertThat(Merkle.Frontier.of(n, Merkle.memory(all)).root()).isEqualTo(f.root());
        }
        assertThat(completed).contains("1:0", "2:0", "6:0").hasSize(70 - Long.bitCount(70));
        // the hand-computed tree of three leaves: node(node(l0, l1), l2)
        List<byte[]> three = all.subList(0, 3);
        assertThat(Merkle.root(three)).isEqualTo(Merkle.node(Merkle.node(all.get(0), all.get(1)), all.get(2)));
    }

    @Test
    void should_verify_every_inclusion_proof_and_refuse_any_change() {
        List<byte[]> all = leaves(40);
        for (int n = 1; n <= 40; n++) {
            byte[] root = Merkle.root(all.subList(0, n));
            for (int m = 0; m < n; m++) {
                List<byte[]> proof = Merkle.inclusion(m, n, Merkle.memory(all));
                assertThat(proof.size()).isLessThanOrEqualTo(64 - Long.numberOfLeadingZeros(n - 1));
                assertThat(Merkle.verifyInclusion(m, n, all.get(m), proof, root)).as(m + " in " + n).isTrue();
                assertThat(Merkle.verifyInclusion(m, n, all.get((m + 1) % 40), proof, root)).isFalse();
                if (n > 1) {
                    assertThat(Merkle.verifyInclusion((m + 1) % n, n, all.get(m), proof, root)).isFalse();
                    List<byte[]> bad = new ArrayList<>(proof);
                    bad.set(0, Merkle.leaf(new byte[]{1}));
                    assertThat(Merkle.verifyInclusion(m, n, all.get(m), bad, root)).isFalse();
                    assertThat(Merkle.verifyInclusion(m, n, all.get(m), proof.subList(0, proof.size() - 1), root))
                            .isFalse();
                }
            }
        }
    }

    @Test
    void should_verify_every_consistency_proof_and_refuse_a_rewritten_history() {
        List<byte[]> all = leaves(40);
        for (int n = 1; n <= 40; n++) {
            byte[] root2 = Merkle.root(all.subList(0, n));
            for (int m = 1; m <= n; m++) {
                byte[] root1 = Merkle.root(all.subList(0, m));
                List<byte[]> proof = Merkle.consistency(m, n, Merkle.memory(all));
                assertThat(Merkle.verifyConsistency(m, n, root1, root2, proof)).as(m + " to " + n).isTrue();
                if (m < n) {
                    List<byte[]> forked = new ArrayList<>(all);
                    forked.set(m - 1, Merkle.leaf(new byte[]{9}));
                    byte[] other = Merkle.root(forked.subList(0, m));
                    assertThat(Merkle.verifyConsistency(m, n, other, root2, proof)).isFalse();
                    assertThat(Merkle.verifyConsistency(m, n, root1, Merkle.root(forked.subList(0, n)), proof))
                            .isFalse();
                    assertThat(Merkle.verifyConsistency(m, n, root1, root2, List.of())).isFalse();
                }
            }
        }
    }

    @Test
    void should_match_the_published_proof_vectors() {
        // five leaves "0".."4" (docs/evidence-format.md section 9 repeats these with entry bytes)
        List<byte[]> l = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            l.add(Merkle.leaf(String.valueOf(i).getBytes(StandardCharsets.UTF_8)));
        }
        assertThat(HexFormat.of().formatHex(Merkle.empty()))
                .isEqualTo("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        assertThat(Merkle.inclusion(2, 5, Merkle.memory(l))).containsExactly(l.get(3),
                Merkle.node(l.get(0), l.get(1)), l.get(4));
        assertThat(Merkle.consistency(3, 5, Merkle.memory(l))).containsExactly(l.get(2), l.get(3),
                Merkle.node(l.get(0), l.get(1)), l.get(4));
    }
}
