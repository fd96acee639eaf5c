package attest.ops;

import org.apache.logging.log4j.ThreadContext;
import org.apache.logging.log4j.core.ContextDataInjector;
import org.apache.logging.log4j.core.config.Property;
import org.apache.logging.log4j.core.impl.ThreadContextDataInjector;
import org.apache.logging.log4j.util.ReadOnlyStringMap;
import org.apache.logging.log4j.util.SortedArrayStringMap;
import org.apache.logging.log4j.util.StringMap;

import java.util.List;
import java.util.Map;

/**
 * The gateway's log4j context data injector (named in {@code log4j2.component.properties}): each line's context data
 * is log4j's ThreadContext, as with log4j's own injector, plus the thread's current call ({@link CallLogContext}):
 * {@code http.request.id}, {@code attest.record_id}, {@code attest.upstream}, {@code attest.outcome}, and
 * {@code trace.id} and {@code span.id} when the call is traced; the call's values win over a ThreadContext entry of
 * the same name, and a call value that is null (an untraced call's trace id) leaves that name out. Written straight into
 * the line's map: log4j's injector with a second context data provider built and copied a map per line.
 */
public final class CallLogContextInjector implements ContextDataInjector {
    @Override
    public StringMap injectContextData(List<Property> properties, StringMap reusable) {
        fill(reusable);
        if (properties != null && !properties.isEmpty()) {
            ThreadContextDataInjector.copyProperties(properties, reusable); // configuration properties never override
        }
        return reusable;
    }

    @Override
    public ReadOnlyStringMap rawContextData() {
        StringMap m = new SortedArrayStringMap();
        fill(m);
        m.freeze();
        return m;
    }

    private static void fill(StringMap m) {
        Map<String, String> own = ThreadContext.getImmutableContext();
        String[] call;
        try {
            call = CallLogContext.current();
        } catch (RuntimeException e) { // a line is never lost to its context
            call = null;
        }
        for (Map.Entry<String, String> e : own.entrySet()) {
            if (call == null || !CallLogContext.isCallKey(e.getKey())) {
                m.putValue(e.getKey(), e.getValue());
            }
        }
        if (call != null) {
            for (int i = 0; i < CallLogContext.KEYS.length; i++) {
                if (call[i] != null) {
                    m.putValue(CallLogContext.KEYS[i], call[i]);
                }
            }
        }
    }
}
