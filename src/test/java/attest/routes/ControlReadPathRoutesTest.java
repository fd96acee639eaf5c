package attest.routes;

import attest.audit.CheckAuditReadPathProcessor;
import attest.audit.ReadPathWatch;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.camel.CamelConfiguration;
import org.apache.camel.CamelContext;
import org.apache.camel.Exchange;
import org.apache.camel.Produce;
import org.apache.camel.ProducerTemplate;
import org.apache.camel.spi.Registry;
import org.apache.camel.test.main.junit5.CamelMainTest;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every control-plane read that serves the evidence store's rows to auditors or callers is behind the read-path watch
 * ({@link ReadPathWatch}), as /audit is: the reports, a record's receipt ({@code GET /evidence/{id}/proof}: its chain
 * entry, inclusion proof and checkpoint) and the key list ({@code GET /keys}: api_key rows, every key for an auditor).
 * While the watch answers SERVING they are served; CHANGED is 503 read_path_changed and UNCHECKED 503
 * read_path_unchecked, and the read is never made. Writes (creating or revoking a key) are not reads and go on.
 * The watch's answer is the test's (the real watch on PostgreSQL: AuditReadPathTest).
 */
@CamelMainTest(
        configurationClasses = ControlReadPathRoutesTest.Wiring.class,
        // the control plane's store reads only (and control-errors, in control-approvals'), their listeners replaced
        properties = {"attest.kafka.brokers=", "camel.main.routes-include-pattern=file:routes/control-audit.camel.yaml,"
                + "file:routes/control-evidence.camel.yaml,file:routes/control-keys.camel.yaml,"
                + "file:routes/control-approvals.camel.yaml"},
        replaceRouteFromWith = {"control-audit=direct:audit", "evidence-proof=direct:evidence-proof",
                "control-keys=direct:control-keys", "control-approvals=direct:control-approvals",
                "control-auth-callback=direct:auth-callback"})
class ControlReadPathRoutesTest {
    static final ObjectMapper JSON = new ObjectMapper();
    /** What the watch answers. */
    static final AtomicReference<ReadPathWatch.Status> WATCH = new AtomicReference<>(ReadPathWatch.Status.SERVING);
    /** How often each store-reading step ran. */
    static final Map<String, Integer> REACHED = new java.util.concurrent.ConcurrentHashMap<>();

    /** The real route steps, with the watch's answer set by the test and the steps that read the store counted. */
    public static class Wiring implements CamelConfiguration {
        @Override
        public void configure(CamelContext context) {
            new RouteTestConfiguration().configure(context);
            Registry r = context.getRegistry();
            for (String name : List.of("checkAuditReadPathProcessor", "checkAuditorProcessor", "readProofPathProcessor",
                    "readKeyPathProcessor")) {
                r.unbind(name);
            }
            r.bind("checkAuditReadPathProcessor", new CheckAuditReadPathProcessor(
                    () -> new ReadPathWatch.State(WATCH.get(), List.of("public.audit_access"), Instant.now())));
            r.bind("checkAuditorProcessor", new attest.audit.CheckAuditorProcessor("auditor"));
            r.bind("readProofPathProcessor", new attest.evidence.ReadProofPathProcessor());
            r.bind("readKeyPathProcessor", new attest.keys.ReadKeyPathProcessor());
            // each step that reads the store (or writes a key) is counted and answers 200
            for (String step : List.of("renderAuditReportProcessor", "renderEvidenceProofProcessor", "listKeysProcessor",
                    "createKeyProcessor", "revokeKeyProcessor")) {
                r.unbind(step);
                r.bind(step, (org.apache.camel.Processor) e -> {
                    REACHED.merge(step, 1, Integer::sum);
                    e.getMessage().setHeader(Exchange.HTTP_RESPONSE_CODE, 200);
                });
            }
        }
    }

    @Produce("direct:audit")
    ProducerTemplate template;

    @BeforeEach
    void reset() {
        REACHED.clear();
        WATCH.set(ReadPathWatch.Status.SERVING);
    }

    static int reached(String step) {
        return REACHED.getOrDefault(step, 0);
    }

    Exchange http(String endpoint, String method, String uri, String token) {
        return template.request(endpoint, e -> {
            e.getIn().setHeader(Exchange.HTTP_METHOD, method);
            e.getIn().setHeader(Exchange.HTTP_URI, uri);
            e.getIn().setHeader("Content-Type", "application/json");
            e.getIn().setHeader("Authorization", "Bearer " + token);
            e.getIn().setBody("{}".getBytes(StandardCharsets.UTF_8));
        });
    }

    static String token(String user, String... roles) {
        return RouteTestConfiguration.TOKENS.user(user, List.of(roles));
    }

    /** The three reads: the auditor's report, a receipt (the auditor's or its record's caller's), the key lists. */
    List<Exchange> reads() {
        String auditor = token("audrey", "auditor");
        String caller = token("alice", "inference-user");
        return List.of(
                http("direct:audit", "GET", "/audit/access?format=json", auditor),
                http("direct:evidence-proof", "GET", "/evidence/" + UUID.randomUUID() + "/proof", auditor),
                http("direct:evidence-proof", "GET", "/evidence/" + UUID.randomUUID() + "/proof", caller),
                http("direct:control-keys", "GET", "/keys", auditor),
                http("direct:control-keys", "GET", "/keys", caller));
    }

    static int status(Exchange e) {
        return e.getMessage().getHeader(Exchange.HTTP_RESPONSE_CODE, Integer.class);
    }

    void assertWithheld(String code) throws Exception {
        for (Exchange out : reads()) {
            String uri = out.getIn().getHeader(Exchange.HTTP_URI, String.class);
            assertThat(status(out)).as(uri).isEqualTo(503);
            var error = JSON.readTree(out.getMessage().getBody(byte[].class)).path("error");
            assertThat(error.path("code").asText()).as(uri).isEqualTo(code);
            assertThat(error.path("message").asText()).as(uri).doesNotContain("audit_access");
        }
        assertThat(REACHED).as("no read of the store").isEmpty();
    }

    @Test
    void should_serve_reports_receipts_and_key_lists_while_the_read_path_is_the_migrations_own() {
        for (Exchange out : reads()) {
            assertThat(status(out)).as(out.getIn().getHeader(Exchange.HTTP_URI, String.class)).isEqualTo(200);
        }
        assertThat(reached("renderAuditReportProcessor")).isEqualTo(1);
        assertThat(reached("renderEvidenceProofProcessor")).isEqualTo(2);
        assertThat(reached("listKeysProcessor")).isEqualTo(2);
    }

    @Test
    void should_withhold_reports_receipts_and_key_lists_with_503_when_the_read_path_changed() throws Exception {
        WATCH.set(ReadPathWatch.Status.CHANGED);
        assertWithheld("read_path_changed");
    }

    @Test
    void should_withhold_reports_receipts_and_key_lists_with_503_when_the_read_path_cannot_be_checked()
            throws Exception {
        WATCH.set(ReadPathWatch.Status.UNCHECKED);
        assertWithheld("read_path_unchecked");
    }

    /** Creating and revoking a key read nothing back to anyone: they go on (each is checked by its own rules). */
    @Test
    void should_not_withhold_key_writes() {
        WATCH.set(ReadPathWatch.Status.CHANGED);
        String alice = token("alice", "inference-user");
        assertThat(status(http("direct:control-keys", "POST", "/keys", alice))).isEqualTo(200);
        assertThat(status(http("direct:control-keys", "DELETE", "/keys/" + UUID.randomUUID(), alice))).isEqualTo(200);
        assertThat(reached("createKeyProcessor")).isEqualTo(1);
        assertThat(reached("revokeKeyProcessor")).isEqualTo(1);
    }

    /** Without a valid token the watch is not consulted at all: 401 first, whatever it answers. */
    @Test
    void should_check_the_token_before_the_read_path() {
        WATCH.set(ReadPathWatch.Status.CHANGED);
        for (String[] read : List.of(new String[] {"direct:audit", "/audit/access"},
                new String[] {"direct:evidence-proof", "/evidence/" + UUID.randomUUID() + "/proof"},
                new String[] {"direct:control-keys", "/keys"})) {
            assertThat(status(http(read[0], "GET", read[1], "not-a-token"))).as(read[1]).isEqualTo(401);
        }
    }
}
