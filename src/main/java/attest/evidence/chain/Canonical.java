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

    /** The canonical bytes of a value made of maps, lists, strings, integers, booleans and nulls. */
    public static byte[] of(Object value) {
        StringBuilder b = new StringBuilder(256);
        write(b, value);
        return b.toString().getBytes(StandardCharsets.UTF_8);
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

    @SuppressWarnings("unchecked")
    private static void write(StringBuilder b, Object v) {
        if (v == null) {
            b.append("null");
        } else if (v instanceof String s) {
            string(b, s);
        } else if (v instanceof Boolean bool) {
            b.append(bool ? "true" : "false");
        } else if (v instanceof Integer || v instanceof Long || v instanceof Short || v instanceof Byte) {
            long n = ((Number) v).longValue();
            if (Math.abs(n) > MAX_SAFE) {
                throw new IllegalArgumentException("integer beyond 2^53: " + n);
            }
            b.append(n);
        } else if (v instanceof Map<?, ?> m) {
            // members by name; String.compareTo orders by UTF-16 code units, as RFC 8785 requires (a TreeMap in
            // natural order is in that order already)
            Map.Entry<String, Object>[] members = ((Map<String, Object>) m).entrySet().toArray(new Map.Entry[0]);
            if (!(m instanceof java.util.SortedMap<?, ?> sorted && sorted.comparator() == null)) {
                java.util.Arrays.sort(members, Map.Entry.comparingByKey());
            }
            b.append('{');
            for (int i = 0; i < members.length; i++) {
                if (i > 0) {
                    b.append(',');
                }
                string(b, members[i].getKey());
                b.append(':');
                write(b, members[i].getValue());
            }
            b.append('}');
        } else if (v instanceof List<?> l) {
            b.append('[');
            for (int i = 0; i < l.size(); i++) {
                if (i > 0) {
                    b.append(',');
                }
                write(b, l.get(i));
            }
            b.append(']');
        } else {
            throw new IllegalArgumentException("not a canonical evidence value: " + v.getClass().getSimpleName());
        }
    }

    private static void string(StringBuilder b, String s) {
        b.append('"');
        int run = 0; // the start of the characters not yet appended, which need no escape
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c >= 0x20 && c != '"' && c != '\\' && !Character.isSurrogate(c)) {
                continue;
            }
            b.append(s, run, i);
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\b' -> b.append("\\b");
                case '\f' -> b.append("\\f");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                default -> {
                    if (c < 0x20) {
                        b.append(String.format("\\u%04x", (int) c));
                    } else if (Character.isHighSurrogate(c)) {
                        if (i + 1 >= s.length() || !Character.isLowSurrogate(s.charAt(i + 1))) {
                            throw new IllegalArgumentException("lone surrogate in a string");
                        }
                        b.append(c).append(s.charAt(++i));
                    } else {
                        throw new IllegalArgumentException("lone surrogate in a string");
                    }
                }
            }
            run = i + 1;
        }
        b.append(s, run, s.length()).append('"');
    }
}
