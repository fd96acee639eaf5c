package attest.evidence.chain;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@link Canonical#of} appends runs of characters that need no escape at once and takes a naturally ordered
 * TreeMap's members in their own order. Against a plain form written here on its own terms (a code point at a
 * time, every object's names sorted) over generated values: the same bytes, or the same refusal, for every value,
 * including escapes, surrogate pairs, lone surrogates at either end of a run, and maps sorted the other way.
 */
class CanonicalDifferentialTest {
    private static final long MAX_SAFE = (1L << 53) - 1;
    /** The characters strings are drawn from: the escapes, controls, the edges of the surrogate ranges. */
    private static final char[] ALPHABET = {'a', 'Z', '0', ' ', '~', '"', '\\', '/', '\b', '\f', '\n', '\r', '\t',
            '\u0000', '\u0001', '\u001f', '\u007f', '\u0080', '\u00e9', '\u2028', '\ud7ff', '\ud800', '\udbff',
            '\udc00', '\udfff', '\ue000', '\ufffd', '\uffff'};

    @Test
    void gives_the_bytes_or_the_refusal_of_the_plain_form_for_every_generated_value() {
        Random random = new Random(8785);
        int refused = 0;
        for (int n = 0; n < 40_000; n++) {
            Object v = value(random, 0);
            byte[] expected;
            try {
                expected = plain(v);
            } catch (IllegalArgumentException e) {
                refused++;
                Object value = v;
                org.assertj.core.api.Assertions.assertThatThrownBy(() -> Canonical.of(value))
                        .isInstanceOf(IllegalArgumentException.class).hasMessage(e.getMessage());
                continue;
            }
            assertThat(Canonical.of(v)).as("value %s", v).isEqualTo(expected);
        }
        // the generator reaches both sides: values refused (lone surrogates, big integers) and values written
        assertThat(refused).isBetween(2_000, 38_000);
    }

    @Test
    void sorts_a_tree_map_that_is_not_in_natural_order_and_keeps_one_that_is() {
        Map<String, Object> reversed = new TreeMap<>(Comparator.reverseOrder());
        reversed.put("a", 1L);
        reversed.put("b", 2L);
        reversed.put("\ud83d\ude00", 3L); // a surrogate pair sorts by its code units: before U+FFFD
        reversed.put("\ufffd", 4L);
        Map<String, Object> natural = new TreeMap<>(reversed);
        String want = "{\"a\":1,\"b\":2,\"\ud83d\ude00\":3,\"\ufffd\":4}";
        assertThat(new String(Canonical.of(reversed), StandardCharsets.UTF_8)).isEqualTo(want);
        assertThat(new String(Canonical.of(natural), StandardCharsets.UTF_8)).isEqualTo(want);
    }

    static Object value(Random r, int depth) {
        int kind = r.nextInt(depth > 3 ? 5 : 8);
        switch (kind) {
            case 0:
                return null;
            case 1:
                return r.nextBoolean();
            case 2:
                return r.nextInt(20) == 0 ? (r.nextBoolean() ? MAX_SAFE + 1 : -MAX_SAFE) : (long) r.nextInt();
            case 3:
            case 4:
                return string(r);
            case 5: {
                List<Object> l = new ArrayList<>();
                for (int i = r.nextInt(4); i > 0; i--) {
                    l.add(value(r, depth + 1));
                }
                return l;
            }
            default: {
                Map<String, Object> m = switch (r.nextInt(4)) {
                    case 0 -> new HashMap<>();
                    case 1 -> new LinkedHashMap<>();
                    case 2 -> new TreeMap<>();
                    default -> new TreeMap<>(Comparator.reverseOrder());
                };
                for (int i = r.nextInt(5); i > 0; i--) {
                    m.put(string(r), value(r, depth + 1));
                }
                return m;
            }
        }
    }

    static String string(Random r) {
        StringBuilder b = new StringBuilder();
        for (int i = r.nextInt(12); i > 0; i--) {
            if (r.nextInt(6) == 0) {
                b.append("\ud83d\ude00"); // a well-formed pair
            } else if (r.nextInt(3) == 0) {
                b.append((char) ('a' + r.nextInt(26)));
            } else {
                b.append(ALPHABET[r.nextInt(ALPHABET.length)]);
            }
        }
        return b.toString();
    }

    // ---- the plain form: every object's names sorted, strings written a code point at a time ----

    private static byte[] plain(Object value) {
        StringBuilder b = new StringBuilder();
        write(b, value);
        return b.toString().getBytes(StandardCharsets.UTF_8);
    }

    /** Objects and arrays by joining their members' forms; anything else is a scalar. */
    @SuppressWarnings("unchecked")
    private static void write(StringBuilder b, Object v) {
        java.util.StringJoiner members;
        if (v instanceof Map<?, ?> m) {
            members = new java.util.StringJoiner(",", "{", "}");
            for (String k : new TreeMap<>((Map<String, Object>) m).keySet()) {
                StringBuilder member = new StringBuilder();
                string(member, k);
                write(member.append(':'), m.get(k));
                members.add(member);
            }
        } else if (v instanceof List<?> l) {
            members = new java.util.StringJoiner(",", "[", "]");
            for (Object item : l) {
                StringBuilder element = new StringBuilder();
                write(element, item);
                members.add(element);
            }
        } else if (v instanceof String s) {
            string(b, s);
            return;
        } else if (v instanceof Long n && Math.abs(n) > MAX_SAFE) {
            throw new IllegalArgumentException("integer beyond 2^53: " + n);
        } else {
            b.append(v); // null, true, false, a long
            return;
        }
        b.append(members);
    }

    private static final Map<Character, String> ESCAPES = Map.of('"', "\\\"", '\\', "\\\\", '\b', "\\b", '\f', "\\f",
            '\n', "\\n", '\r', "\\r", '\t', "\\t");

    /** By code point: a pair is one supplementary code point, a surrogate left over is refused. */
    private static void string(StringBuilder b, String s) {
        b.append('"');
        int i = 0;
        while (i < s.length()) {
            int cp = s.codePointAt(i);
            if (Character.isSupplementaryCodePoint(cp)) {
                b.appendCodePoint(cp);
                i += 2;
                continue;
            }
            char c = (char) cp;
            if (Character.isSurrogate(c)) {
                throw new IllegalArgumentException("lone surrogate in a string");
            }
            String escape = ESCAPES.get(c);
            if (escape != null) {
                b.append(escape);
            } else if (c < 0x20) {
                b.append("\\u00").append("0123456789abcdef".charAt(c >> 4)).append("0123456789abcdef".charAt(c & 15));
            } else {
                b.append(c);
            }
            i++;
        }
        b.append('"');
    }
}
