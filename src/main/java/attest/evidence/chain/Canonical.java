package attest.evidence.chain;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * RFC 8785 JSON Canonicalization Scheme (JCS) for the values evidence uses: objects, arrays, strings,
 * integers of magnitude below 2^53, booleans and null. Floats are refused (evidence has none: timestamps
 * are strings). Object members are sorted by the UTF-16 code units of their names; strings are escaped as
 * ECMAScript's JSON.stringify does; the output is UTF-8 with no whitespace.
 */
public final class Canonical {
    private static final long MAX_SAFE = (1L << 53) - 1;
    private static final ObjectMapper STRICT = JsonMapper.builder()
            .enable(DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY)
            .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .build();

    private Canonical() {
    }

    /**
     * The canonical bytes of a value made of maps, lists, strings, integers, booleans and nulls. Written as UTF-8
     * bytes as it goes (no intermediate string): every call's chain entries are rendered so, on the call's path.
     */
    public static byte[] of(Object value) {
        Out b = new Out(512);
        write(b, value);
        return b.bytes();
    }

    /** Parses JSON (duplicate names refused) into maps, lists, strings, longs, booleans and nulls. */
    public static Object parse(byte[] json) {
        try (JsonParser p = STRICT.createParser(json)) {
            JsonNode n = STRICT.readTree(p);
            if (p.nextToken() != null) {
                throw new IllegalArgumentException("trailing data after the JSON value");
            }
            return toValue(n);
        } catch (IOException e) {
            throw new IllegalArgumentException("not valid JSON", e);
        }
    }

    /** Whether these bytes are exactly the canonical form of the JSON they hold. */
    public static boolean isCanonical(byte[] json) {
        try {
            return java.util.Arrays.equals(json, of(parse(json)));
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    private static Object toValue(JsonNode n) {
        if (n == null || n.isNull()) {
            return null;
        }
        if (n.isObject()) {
            Map<String, Object> m = new TreeMap<>();
            for (Iterator<Map.Entry<String, JsonNode>> it = n.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                m.put(e.getKey(), toValue(e.getValue()));
            }
            return m;
        }
        if (n.isArray()) {
            List<Object> l = new ArrayList<>(n.size());
            n.forEach(x -> l.add(toValue(x)));
            return l;
        }
        if (n.isTextual()) {
            return n.asText();
        }
        if (n.isBoolean()) {
            return n.asBoolean();
        }
        if (n.isIntegralNumber() && n.canConvertToLong()) {
            return n.asLong();
        }
        throw new IllegalArgumentException("evidence JSON holds no floats or big numbers");
    }

    /** Members by name: String.compareTo orders by UTF-16 code units, as RFC 8785 requires. */
    private static final java.util.Comparator<Map.Entry<String, Object>> BY_NAME = (x, y) -> x.getKey().compareTo(y.getKey());

    @SuppressWarnings("unchecked")
    private static void write(Out b, Object v) {
        if (v == null) {
            b.ascii("null");
        } else if (v instanceof String s) {
            string(b, s);
        } else if (v instanceof Boolean bool) {
            b.ascii(bool ? "true" : "false");
        } else if (v instanceof Integer || v instanceof Long || v instanceof Short || v instanceof Byte) {
            long n = ((Number) v).longValue();
            if (Math.abs(n) > MAX_SAFE) {
                throw new IllegalArgumentException("integer beyond 2^53: " + n);
            }
            b.number(n);
        } else if (v instanceof Map<?, ?> m) {
            Map.Entry<String, Object>[] members = ((Map<String, Object>) m).entrySet().toArray(new Map.Entry[0]);
            // a naturally ordered TreeMap is in that order already; any other map is sorted unless it happens to be
            if (!(m instanceof java.util.SortedMap<?, ?> sorted && sorted.comparator() == null) && !inOrder(members)) {
                java.util.Arrays.sort(members, BY_NAME);
            }
            b.put('{');
            for (int i = 0; i < members.length; i++) {
                if (i > 0) {
                    b.put(',');
                }
                string(b, members[i].getKey());
                b.put(':');
                write(b, members[i].getValue());
            }
            b.put('}');
        } else if (v instanceof List<?> l) {
            b.put('[');
            for (int i = 0; i < l.size(); i++) {
                if (i > 0) {
                    b.put(',');
                }
                write(b, l.get(i));
            }
            b.put(']');
        } else {
            throw new IllegalArgumentException("not a canonical evidence value: " + v.getClass().getSimpleName());
        }
    }

    private static boolean inOrder(Map.Entry<String, Object>[] members) {
        for (int i = 1; i < members.length; i++) {
            if (members[i - 1].getKey().compareTo(members[i].getKey()) > 0) {
                return false;
            }
        }
        return true;
    }

    private static final byte[] HEX = "0123456789abcdef".getBytes(StandardCharsets.US_ASCII);

    /** A string as ECMAScript's JSON.stringify writes it, in UTF-8; a lone surrogate is refused. */
    private static void string(Out b, String s) {
        int n = s.length();
        b.room(n + 2);
        b.put('"');
        for (int i = 0; i < n; i++) {
            char c = s.charAt(i);
            if (c < 0x80) {
                if (c >= 0x20 && c != '"' && c != '\\') {
                    b.put(c);
                    continue;
                }
                switch (c) {
                    case '"' -> b.put('\\', '"');
                    case '\\' -> b.put('\\', '\\');
                    case '\b' -> b.put('\\', 'b');
                    case '\f' -> b.put('\\', 'f');
                    case '\n' -> b.put('\\', 'n');
                    case '\r' -> b.put('\\', 'r');
                    case '\t' -> b.put('\\', 't');
                    default -> { // the other controls: \\u00XX, lower-case hex
                        b.put('\\', 'u');
                        b.put('0', '0');
                        b.put((char) HEX[c >> 4], (char) HEX[c & 0xf]);
                    }
                }
            } else if (c < 0x800) {
                b.room(2);
                b.raw((byte) (0xc0 | c >> 6));
                b.raw((byte) (0x80 | c & 0x3f));
            } else if (!Character.isSurrogate(c)) {
                b.room(3);
                b.raw((byte) (0xe0 | c >> 12));
                b.raw((byte) (0x80 | c >> 6 & 0x3f));
                b.raw((byte) (0x80 | c & 0x3f));
            } else {
                if (!Character.isHighSurrogate(c) || i + 1 >= n || !Character.isLowSurrogate(s.charAt(i + 1))) {
                    throw new IllegalArgumentException("lone surrogate in a string");
                }
                int cp = Character.toCodePoint(c, s.charAt(++i));
                b.room(4);
                b.raw((byte) (0xf0 | cp >> 18));
                b.raw((byte) (0x80 | cp >> 12 & 0x3f));
                b.raw((byte) (0x80 | cp >> 6 & 0x3f));
                b.raw((byte) (0x80 | cp & 0x3f));
            }
        }
        b.put('"');
    }

    /** A growing array of bytes. */
    private static final class Out {
        private byte[] a;
        private int n;

        Out(int capacity) {
            a = new byte[capacity];
        }

        void room(int more) {
            if (n + more > a.length) {
                a = java.util.Arrays.copyOf(a, Math.max(a.length * 2, n + more));
            }
        }

        void raw(byte x) {
            a[n++] = x;
        }

        void put(char c) {
            room(1);
            a[n++] = (byte) c;
        }

        void put(char c1, char c2) {
            room(2);
            a[n++] = (byte) c1;
            a[n++] = (byte) c2;
        }

        void ascii(String s) {
            room(s.length());
            for (int i = 0; i < s.length(); i++) {
                a[n++] = (byte) s.charAt(i);
            }
        }

        void number(long v) {
            ascii(Long.toString(v));
        }

        byte[] bytes() {
            return java.util.Arrays.copyOf(a, n);
        }
    }
}
