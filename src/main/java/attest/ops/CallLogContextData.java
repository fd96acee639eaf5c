package attest.ops;

import org.apache.logging.log4j.core.util.ContextDataProvider;

import java.util.HashMap;
import java.util.Map;

/**
 * The log4j context data provider (registered in META-INF/services) that adds the thread's current call
 * ({@link CallLogContext}) to each line: {@code http.request.id}, {@code attest.record_id}, {@code attest.upstream},
 * {@code attest.outcome}, and {@code trace.id} and {@code span.id} when the call is traced. Nothing outside a call.
 */
public final class CallLogContextData implements ContextDataProvider {
    @Override
    public Map<String, String> supplyContextData() {
        String[] v;
        try {
            v = CallLogContext.current();
        } catch (RuntimeException e) { // a line is never lost to its context
            return Map.of();
        }
        if (v == null) {
            return Map.of();
        }
        Map<String, String> m = new HashMap<>(8);
        for (int i = 0; i < CallLogContext.KEYS.length; i++) {
            if (v[i] != null) {
                m.put(CallLogContext.KEYS[i], v[i]);
            }
        }
        return m;
    }
}
