package attest.upstream;

import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * The upstream's answer: its status and the headers that may go back to the caller, with either a
 * buffered body or a live {@link StreamRelay} for server-sent events.
 */
public record UpstreamResponse(int status, List<Map.Entry<String, String>> headers, byte[] body, StreamRelay stream,
                               Instant firstByteAt) {
    public boolean streaming() {
        return stream != null;
    }

    public String header(String name) {
        return headers.stream().filter(e -> e.getKey().equalsIgnoreCase(name)).map(Map.Entry::getValue).findFirst()
                .orElse(null);
    }
}
