package attest.evidence.chain;

import java.util.HexFormat;

/**
 * Hex as evidence writes it (docs/evidence-format.md 6.1): lower case, two digits a byte, nothing else. A verifier
 * compares hex as written, so any other spelling (upper case, a stray character, an odd length) is not the same
 * bytes read leniently but no value at all, and cannot match.
 */
final class LowerHex {
    private static final HexFormat HEX = HexFormat.of();

    private LowerHex() {
    }

    /** The bytes of lower-case hex; null for anything else (null, upper case, a non-hex character, odd length). */
    static byte[] parse(String hex) {
        if (hex == null || hex.length() % 2 != 0) {
            return null;
        }
        for (int i = 0; i < hex.length(); i++) {
            char c = hex.charAt(i);
            if (!(c >= '0' && c <= '9' || c >= 'a' && c <= 'f')) {
                return null;
            }
        }
        return HEX.parseHex(hex);
    }

    /** The bytes of lower-case hex; no bytes for anything else (no signature or hash is empty, so it cannot match). */
    static byte[] orEmpty(String hex) {
        byte[] b = parse(hex);
        return b == null ? new byte[0] : b;
    }

    /** Lower-case hex of exactly {@code bytes} bytes (a hash); null otherwise. */
    static byte[] ofLength(String hex, int bytes) {
        byte[] b = parse(hex);
        return b != null && b.length == bytes ? b : null;
    }
}
