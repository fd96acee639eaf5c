package attest.evidence.chain;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/** Reproduces the test vectors of docs/evidence-format.md from the document's own text. */
class FormatVectorsTest {
    static final HexFormat HEX = HexFormat.of();

    static String doc() throws Exception {
        String text = Files.readString(Path.of("docs/evidence-format.md"));
        return text.substring(text.indexOf("## 7. Test vectors"));
    }

    static List<String> blocks(String text) {
        List<String> out = new ArrayList<>();
        Matcher m = Pattern.compile("```\\n(.*?)\\n```", Pattern.DOTALL).matcher(text);
        while (m.find()) {
            out.add(m.group(1));
        }
        return out;
    }

    static String after(String text, String label) {
        Matcher m = Pattern.compile(Pattern.quote(label) + "\\s*`([0-9a-f]+)`").matcher(text);
        assertThat(m.find()).as(label).isTrue();
        return m.group(1);
    }

    @Test
    void should_reproduce_the_published_hashes_signature_and_key_id() throws Exception {
        String doc = doc();
        List<String> blocks = blocks(doc);
        byte[] e1 = blocks.get(0).getBytes(StandardCharsets.UTF_8);
        byte[] e2 = blocks.get(1).getBytes(StandardCharsets.UTF_8);
        byte[] cp = blocks.get(2).getBytes(StandardCharsets.UTF_8);
        assertThat(Canonical.isCanonical(e1)).isTrue();
        assertThat(Canonical.isCanonical(e2)).isTrue();
        assertThat(Canonical.isCanonical(cp)).isTrue();

        byte[] h1 = ChainHash.link(ChainHash.GENESIS, e1);
        byte[] h2 = ChainHash.link(h1, e2);
        assertThat(HEX.formatHex(h1)).isEqualTo(after(doc, "`hash(1)` ="));
        assertThat(HEX.formatHex(h2)).isEqualTo(after(doc, "`hash(2)` ="));
        assertThat(blocks.get(2)).contains("\"head\":\"" + HEX.formatHex(h2) + "\"");

        PublicKey pub = KeyFileSigner.publicKey("MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
        assertThat(HEX.formatHex(pub.getEncoded())).endsWith(after(doc, "public key"));
        assertThat(KeyFileSigner.keyId(pub)).isEqualTo("06e3fd8fda29bb60");
        byte[] signature = HEX.parseHex(after(doc, "signature ="));
        assertThat(KeyFileSigner.verify(pub, cp, signature)).isTrue();
        assertThat(HEX.formatHex(ChainHash.checkpoint(cp))).isEqualTo(after(doc, "checkpoint hash ="));

        // Ed25519 is deterministic: the published secret key gives the published signature
        PrivateKey priv = KeyFactory.getInstance("Ed25519").generatePrivate(new PKCS8EncodedKeySpec(
                HEX.parseHex("302e020100300506032b657004220420" + after(doc, "(secret key"))));
        Signature s = Signature.getInstance("Ed25519");
        s.initSign(priv);
        s.update(cp);
        assertThat(HEX.formatHex(s.sign())).isEqualTo(HEX.formatHex(signature));
    }
}
