package attest.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The methods each path of a plane serves, read from its OpenAPI document's {@code paths} (the control plane's:
 * {@code openapi/control-plane.json}, which OpenApiDocumentTest keeps true to the routes and their path processors).
 * A path template's {@code {name}} segment matches any one segment; a trailing {@code /} is ignored, and so is the
 * letter case (as camel-netty-http ignores it when it picks a route); a literal segment wins over a template. Methods are listed in the door's order (GET, HEAD, POST, PUT, PATCH, DELETE), as an
 * {@code Allow} header names them.
 */
public final class ServedMethods {
    /** The control plane's document on the class path. */
    public static final String CONTROL_PLANE = "openapi/control-plane.json";
    /**
     * The only methods the door lets through on either plane ({@code HardenedHttpServerInitializerFactory}; anything
     * else is 405 there), in the order an {@code Allow} header names them. A policy rule may list only these.
     */
    public static final List<String> DOOR = List.of("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE");
    private static final List<String> ORDER = DOOR;

    private record Entry(String template, Pattern pattern, int literals, String allow) {
    }

    private final List<Entry> entries;

    private ServedMethods(List<Entry> entries) {
        this.entries = entries;
    }

    /** The control plane's, from its OpenAPI document; a missing or unreadable document stops the start. */
    public static ServedMethods controlPlane() {
        try (InputStream in = ServedMethods.class.getClassLoader().getResourceAsStream(CONTROL_PLANE)) {
            if (in == null) {
                throw new IllegalStateException("the OpenAPI document " + CONTROL_PLANE + " is missing from the class path");
            }
            return fromOpenApi(in.readAllBytes());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The methods of every path of an OpenAPI 3 document. */
    public static ServedMethods fromOpenApi(byte[] document) throws IOException {
        JsonNode paths = new ObjectMapper().readTree(document).path("paths");
        List<Entry> entries = new ArrayList<>();
        for (Iterator<java.util.Map.Entry<String, JsonNode>> it = paths.fields(); it.hasNext(); ) {
            var p = it.next();
            List<String> methods = new ArrayList<>();
            p.getValue().fieldNames().forEachRemaining(m -> {
                String upper = m.toUpperCase(Locale.ROOT);
                if (ORDER.contains(upper)) {
                    methods.add(upper);
                }
            });
            methods.sort(Comparator.comparingInt(ORDER::indexOf));
            StringBuilder regex = new StringBuilder("^");
            int literals = 0;
            for (String segment : p.getKey().substring(1).split("/", -1)) {
                regex.append('/');
                if (segment.startsWith("{") && segment.endsWith("}")) {
                    regex.append("[^/]+");
                } else {
                    regex.append(Pattern.quote(segment));
                    literals++;
                }
            }
            regex.append("/?$");
            // in any case: camel-netty-http picks a route by its path ignoring case (PUT /HEALTH reached control-health)
            entries.add(new Entry(p.getKey(), Pattern.compile(regex.toString(), Pattern.CASE_INSENSITIVE), literals,
                    String.join(", ", methods)));
        }
        entries.sort(Comparator.comparingInt(Entry::literals).reversed());
        return new ServedMethods(List.copyOf(entries));
    }

    /** The {@code Allow} value of the path (without query), or empty when no documented path is it. */
    public Optional<String> allow(String path) {
        for (Entry e : entries) {
            if (e.pattern().matcher(path).matches()) {
                return Optional.of(e.allow());
            }
        }
        return Optional.empty();
    }

    /** Whether the method is served on the path; true for a path not documented (its route answers it). */
    public boolean serves(String path, String method) {
        return allow(path).map(a -> List.of(a.split(", ")).contains(method)).orElse(true);
    }
}
