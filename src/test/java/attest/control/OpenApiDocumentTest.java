package attest.control;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The OpenAPI document served at /openapi.json stays true to the routes: every route on the control port is
 * documented, every documented path is served by one of them, operation ids are unique, every operation names its
 * responses, and the documented approval and audit operations are exactly the ones their path processors accept.
 */
class OpenApiDocumentTest {
    static final Pattern CONTROL_URI = Pattern.compile("netty-http:http://\\{\\{attest\\.control\\.host}}:"
            + "\\{\\{attest\\.control\\.port}}(/[^\"?]*)\"");

    static JsonNode document() throws Exception {
        try (var in = OpenApiDocumentTest.class.getClassLoader().getResourceAsStream(RenderOpenApiProcessor.RESOURCE)) {
            return new ObjectMapper().readTree(in);
        }
    }

    /** The control-plane routes' paths, with whether they match on a prefix. */
    static List<String[]> controlRoutes() throws Exception {
        List<String[]> out = new ArrayList<>();
        try (Stream<Path> files = Files.list(Path.of("routes"))) {
            for (Path f : files.filter(p -> p.toString().endsWith(".camel.yaml")).toList()) {
                for (String route : Files.readString(f).split("\n- route:")) {
                    Matcher m = CONTROL_URI.matcher(route);
                    if (m.find()) {
                        out.add(new String[]{m.group(1), String.valueOf(route.contains("matchOnUriPrefix: true"))});
                    }
                }
            }
        }
        return out;
    }

    @Test
    void should_document_every_control_plane_route_and_nothing_else() throws Exception {
        JsonNode doc = document();
        assertThat(doc.path("openapi").asText()).startsWith("3.0");
        List<String> paths = new ArrayList<>();
        doc.path("paths").fieldNames().forEachRemaining(paths::add);
        List<String[]> routes = controlRoutes();
        assertThat(routes).extracting(r -> r[0]).contains("/approvals", "/audit", "/evidence", "/health", "/openapi.json");
        for (String[] r : routes) {
            assertThat(paths).as("route " + r[0]).anyMatch(p -> p.equals(r[0]) || (Boolean.parseBoolean(r[1])
                    && p.startsWith(r[0] + "/")));
        }
        for (String p : paths) {
            assertThat(routes).as("documented path " + p).anyMatch(r -> p.equals(r[0])
                    || (Boolean.parseBoolean(r[1]) && p.startsWith(r[0] + "/")));
        }
    }

    @Test
    void should_give_every_operation_a_unique_id_and_its_responses() throws Exception {
        Set<String> ids = new HashSet<>();
        for (Iterator<JsonNode> ps = document().path("paths").elements(); ps.hasNext(); ) {
            for (Iterator<java.util.Map.Entry<String, JsonNode>> ops = ps.next().fields(); ops.hasNext(); ) {
                JsonNode op = ops.next().getValue();
                assertThat(ids.add(op.path("operationId").asText())).as(op.path("operationId").asText()).isTrue();
                assertThat(op.path("responses").size()).isPositive();
            }
        }
    }

    @Test
    void should_document_exactly_the_approval_and_audit_operations_the_routes_accept() throws Exception {
        Set<String> documented = new HashSet<>();
        document().path("paths").fields().forEachRemaining(p -> p.getValue().fieldNames().forEachRemaining(
                method -> documented.add(method.toUpperCase(java.util.Locale.ROOT) + " " + p.getKey())));
        // what ReadApprovalPathProcessor, ReadAuditRecordPathProcessor and ReadProofPathProcessor accept on the control
        // plane (the requester's result and cancel are data-plane operations)
        assertThat(documented).contains("GET /approvals", "GET /approvals/{id}", "POST /approvals/{id}/decision",
                "GET /approvals/{id}/review", "POST /approvals/{id}/review", "GET /auth/callback", "GET /audit/{report}",
                "GET /audit/records/{id}/payload", "GET /audit/records/{id}/replay", "POST /audit/records/{id}/replay",
                "GET /evidence/{id}/proof", "GET /health", "GET /metrics", "GET /openapi.json",
                // KeyJson/the control-keys route, the usage report, the health probes and the rules reload
                "GET /keys", "POST /keys", "DELETE /keys/{id}", "GET /audit/usage", "GET /health/live",
                "GET /health/ready", "POST /rules/reload",
                // the probes, metrics and this document answer HEAD too (CheckMethodProcessor reads this document:
                // every other method on a documented path is 405 with these as its Allow)
                "HEAD /health", "HEAD /health/live", "HEAD /health/ready", "HEAD /metrics", "HEAD /openapi.json");
        assertThat(documented).hasSize(26);
    }
}
