package attest.evidence;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Leaves out null and empty values of evidence written for refused requests (absent means null). */
final class Compact {
    private Compact() {
    }

    /** A copy without null values, empty lists and empty maps (recursively); null if nothing is left. */
    static Object withoutNulls(Object v) {
        if (v instanceof Map<?, ?> m) {
            Map<String, Object> out = new LinkedHashMap<>();
            m.forEach((k, x) -> {
                Object kept = withoutNulls(x);
                if (kept != null) {
                    out.put(String.valueOf(k), kept);
                }
            });
            return out.isEmpty() ? null : out;
        }
        if (v instanceof List<?> l) {
            return l.isEmpty() ? null : l;
        }
        return v;
    }

    /**
     * Leaves out the null values, empty lists and objects left empty inside a JSON value (in place); true when the
     * value itself is one to leave out.
     */
    static boolean strip(JsonNode n) {
        if (n instanceof ObjectNode o) {
            for (Iterator<Map.Entry<String, JsonNode>> it = o.fields(); it.hasNext(); ) {
                if (strip(it.next().getValue())) {
                    it.remove();
                }
            }
            return o.isEmpty();
        }
        return n == null || n.isNull() || (n.isArray() && n.isEmpty());
    }
}
