package attest.http;

import java.util.Locale;
import java.util.Set;

/**
 * The answer formats the gateway tells apart by an upstream's {@code Content-Type}, in one place: which answers are
 * relayed live (the upstream client), which masker reads them (masking) and how their usage is read (usage). Only the
 * upstream's own label decides, never the request (its {@code stream} flag is the caller's to set).
 */
public final class MediaTypes {
    /** Newline-delimited JSON and its aliases (Ollama's native API, JSON Lines, JSON text sequences). */
    public static final Set<String> NDJSON = Set.of("application/x-ndjson", "application/ndjson",
            "application/jsonl", "application/x-jsonlines", "application/jsonlines", "application/json-seq",
            "application/stream+json", "application/x-json-stream");

    private MediaTypes() {
    }

    /** The media type, lower case, without parameters; empty when absent. */
    public static String of(String contentType) {
        if (contentType == null) {
            return "";
        }
        int semi = contentType.indexOf(';');
        return (semi < 0 ? contentType : contentType.substring(0, semi)).trim().toLowerCase(Locale.ROOT);
    }

    public static boolean eventStream(String contentType) {
        return of(contentType).equals("text/event-stream");
    }

    public static boolean ndjson(String contentType) {
        return NDJSON.contains(of(contentType));
    }

    /** An answer relayed live, masked as it passes: a server-sent event stream or NDJSON. */
    public static boolean live(String contentType) {
        return eventStream(contentType) || ndjson(contentType);
    }
}
