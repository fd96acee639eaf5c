package attest.upstream;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** The headers that will be sent upstream, in order. Built by stripping, then injecting. */
public final class ForwardHeaders {
    private final List<Map.Entry<String, String>> entries;

    public ForwardHeaders(List<Map.Entry<String, String>> entries) {
        this.entries = new ArrayList<>(entries);
    }

    public List<Map.Entry<String, String>> entries() {
        return List.copyOf(entries);
    }

    /** Replaces every header of that name with one value. */
    public ForwardHeaders set(String name, String value) {
        entries.removeIf(e -> e.getKey().equalsIgnoreCase(name));
        entries.add(Map.entry(name, value));
        return this;
    }

    public String first(String name) {
        return entries.stream().filter(e -> e.getKey().equalsIgnoreCase(name)).map(Map.Entry::getValue).findFirst()
                .orElse(null);
    }

    public boolean has(String name) {
        return first(name) != null;
    }
}
