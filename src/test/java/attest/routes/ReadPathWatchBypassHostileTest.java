package attest.routes;

import attest.audit.ReadPathWatch;
import org.apache.camel.CamelConfiguration;
import org.apache.camel.CamelContext;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;
import org.apache.camel.spi.Registry;
import org.apache.camel.test.main.junit5.CamelMainTest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * An outsider's review of "receipts and key lists are behind the read-path watch" (docs/reports.md), from the spec
 * only: over the real control-plane listeners (netty, a free port), every spelling of {@code /keys},
 * {@code /evidence/{id}/proof} and {@code /audit/...} that an attacker might try while the read path is withheld. The
 * steps that would read stored rows are replaced by markers that answer {@code LEAKED-ROWS}: a spelling that reaches
 * one without the watch shows it. The watch's answer is set by the test.
 */
@CamelMainTest(
        configurationClasses = ReadPathWatchBypassHostileTest.Wiring.class,
        properties = {"attest.kafka.brokers=", "attest.rules.watch=false", "attest.kafka.relay-brokers=127.0.0.1:9",
                "attest.control.host=127.0.0.1"},
        replaceRouteFromWith = {"inference-ingress=direct:ingress", "control-health=direct:health",
                "control-health-live=direct:health-live", "control-health-ready=direct:health-ready",
                "control-rules=direct:rules", "rules-watch=direct:rules-watch",
                "control-metrics=direct:metrics", "control-approvals=direct:control-approvals",
                "control-auth-callback=direct:auth-callback", "control-openapi=direct:openapi"})
class ReadPathWatchBypassHostileTest {
    static final AtomicReference<ReadPathWatch.Status> WATCH = new AtomicReference<>(ReadPathWatch.Status.UNCHECKED);
    static final int PORT = freePort();
    static final String MARK = "LEAKED-ROWS";
    static final String ID = UUID.randomUUID().toString();
    /** Times a step that reads stored rows ran (a HEAD answer has no body to show the marker in). */
    static final java.util.concurrent.atomic.AtomicInteger READS = new java.util.concurrent.atomic.AtomicInteger();
    /** Times a key was created or revoked: never by a GET, HEAD or OPTIONS. */
    static final java.util.concurrent.atomic.AtomicInteger WRITES = new java.util.concurrent.atomic.AtomicInteger();

    /** The route-test wiring, the real path readers and watch step, markers where rows would be read. */
    public static class Wiring implements CamelConfiguration {
        @Override
        public void configure(CamelContext context) {
            context.getPropertiesComponent().addOverrideProperty("attest.control.port", String.valueOf(PORT));
            new RouteTestConfiguration().configure(context);
            Registry r = context.getRegistry();
            // the component the gateway binds (AttestConfiguration): the stock one ignores the hardened pipeline, and
            // would answer OPTIONS itself (200, Allow, no token) where production refuses it with 405
            r.bind("netty-http", new attest.http.HardenedNettyHttpComponent());
            Processor leak = e -> {
                READS.incrementAndGet();
                e.getMessage().setHeader(Exchange.HTTP_RESPONSE_CODE, 200);
                e.getMessage().setHeader(Exchange.CONTENT_TYPE, "text/plain");
                e.getMessage().setBody(MARK);
            };
            Processor notFound = e -> {
                e.getMessage().setHeader(Exchange.HTTP_RESPONSE_CODE, 404);
                e.getMessage().setHeader(Exchange.CONTENT_TYPE, "text/plain");
                e.getMessage().setBody("NOT-FOUND");
            };
            Processor write = e -> {
                WRITES.incrementAndGet();
                e.getMessage().setHeader(Exchange.HTTP_RESPONSE_CODE, 200);
                e.getMessage().setHeader(Exchange.CONTENT_TYPE, "text/plain");
                e.getMessage().setBody("WRITE");
            };
            for (String name : List.of("checkAuditorProcessor", "checkAuditReadPathProcessor", "readProofPathProcessor",
                    "renderEvidenceProofProcessor", "readKeyPathProcessor", "listKeysProcessor",
                    "renderAuditReportProcessor", "readAuditQueryProcessor", "renderApprovalNotFoundProcessor",
                    "createKeyProcessor", "revokeKeyProcessor")) {
                r.unbind(name);
            }
            r.bind("checkAuditorProcessor", new attest.audit.CheckAuditorProcessor("auditor"));
            r.bind("checkAuditReadPathProcessor", new attest.audit.CheckAuditReadPathProcessor(
                    () -> new ReadPathWatch.State(WATCH.get(), List.of(), Instant.now())));
            r.bind("readProofPathProcessor", new attest.evidence.ReadProofPathProcessor());
            r.bind("readKeyPathProcessor", new attest.keys.ReadKeyPathProcessor());
            r.bind("readAuditQueryProcessor", new attest.audit.ReadAuditQueryProcessor());
            r.bind("renderEvidenceProofProcessor", leak);
            r.bind("listKeysProcessor", leak);
            r.bind("renderAuditReportProcessor", leak);
            r.bind("renderApprovalNotFoundProcessor", notFound);
            r.bind("createKeyProcessor", write);
            r.bind("revokeKeyProcessor", write);
        }
    }

    static int freePort() {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    static String auditor() {
        return RouteTestConfiguration.TOKENS.user("carol", List.of("auditor", "inference-user"));
    }

    /** One raw HTTP/1.1 exchange (the target exactly as written), the whole answer as text. */
    static String http(String method, String target, String token) throws IOException {
        return http(PORT, method, target, token, null);
    }

    /** One raw HTTP/1.1 exchange on {@code port}, with a JSON body when {@code body} is not null. */
    static String http(int port, String method, String target, String token, String body) throws IOException {
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
            s.setSoTimeout(10_000);
            OutputStream out = s.getOutputStream();
            byte[] b = body == null ? new byte[0] : body.getBytes(StandardCharsets.UTF_8);
            out.write((method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1:" + port + "\r\n"
                    + (token == null ? "" : "Authorization: Bearer " + token + "\r\n")
                    + (body == null ? "" : "Content-Type: application/json\r\nContent-Length: " + b.length + "\r\n")
                    + "Connection: close\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
            out.write(b);
            out.flush();
            InputStream in = s.getInputStream();
            ByteArrayOutputStream got = new ByteArrayOutputStream();
            byte[] buf = new byte[8192];
            int n;
            try {
                while ((n = in.read(buf)) >= 0) {
                    got.write(buf, 0, n);
                }
            } catch (IOException e) {
                // reset after the answer: what came is what counts
            }
            return got.toString(StandardCharsets.UTF_8);
        }
    }

    static int status(String answer) {
        assertThat(answer).startsWith("HTTP/1.1 ");
        return Integer.parseInt(answer.substring(9, 12));
    }

    @AfterEach
    void withheldAgain() {
        WATCH.set(ReadPathWatch.Status.UNCHECKED);
    }

    /** The harness reaches the rows: while the read path is served, the plain spellings get the marker. */
    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({"GET,/keys", "GET,/evidence/ID/proof", "GET,/audit/access"})
    void should_reach_the_rows_while_the_read_path_is_served(String method, String target) throws Exception {
        WATCH.set(ReadPathWatch.Status.SERVING);
        String answer = http(method, target.replace("ID", ID), auditor());
        assertThat(status(answer)).as(answer).isEqualTo(200);
        assertThat(answer).contains(MARK);
    }

    @ParameterizedTest(name = "{0} {1} ({2})")
    @CsvSource(delimiter = '|', textBlock = """
            GET     | /keys                          | UNCHECKED
            GET     | /keys                          | CHANGED
            GET     | /keys/                         | UNCHECKED
            GET     | /keys//                        | UNCHECKED
            GET     | /keys?x                        | UNCHECKED
            GET     | /keys?owner=carol&all=true     | CHANGED
            GET     | /keys/?x=1                     | UNCHECKED
            GET     | //keys                         | UNCHECKED
            GET     | /./keys                        | UNCHECKED
            GET     | /keys/.                        | UNCHECKED
            GET     | /keys/./                       | UNCHECKED
            GET     | /x/../keys                     | UNCHECKED
            GET     | /%6beys                        | UNCHECKED
            GET     | /keys%2f                       | UNCHECKED
            GET     | /keys%2F.                      | UNCHECKED
            GET     | /keys;x                        | UNCHECKED
            GET     | /keys/..;/keys                 | UNCHECKED
            GET     | /KEYS                          | UNCHECKED
            GET     | /Keys/                         | UNCHECKED
            GET     | /keys/list                     | UNCHECKED
            GET     | /keys/ID                       | UNCHECKED
            HEAD    | /keys                          | UNCHECKED
            OPTIONS | /keys                          | UNCHECKED
            TRACE   | /keys                          | UNCHECKED
            GET     | /evidence/ID/proof             | UNCHECKED
            GET     | /evidence/ID/proof             | CHANGED
            GET     | /evidence/ID/proof/            | UNCHECKED
            GET     | /evidence/ID/proof?x           | UNCHECKED
            GET     | /evidence/ID/proof//           | UNCHECKED
            GET     | //evidence/ID/proof            | UNCHECKED
            GET     | /evidence//ID/proof            | UNCHECKED
            GET     | /evidence/ID//proof            | UNCHECKED
            GET     | /evidence/ID/./proof           | UNCHECKED
            GET     | /evidence/x/../ID/proof        | UNCHECKED
            GET     | /evidence/%2e%2e/proof         | UNCHECKED
            GET     | /evidence/%2e%2e/keys          | UNCHECKED
            GET     | /evidence/ID%2fproof           | UNCHECKED
            GET     | /evidence/ID%2Fproof           | UNCHECKED
            GET     | /evidence/ID/%70roof           | UNCHECKED
            GET     | /evidence/ID/PROOF             | UNCHECKED
            GET     | /EVIDENCE/ID/proof             | UNCHECKED
            GET     | /evidence/ID/proof/..          | UNCHECKED
            GET     | /evidence/ID/proof;x           | UNCHECKED
            GET     | /evidence/ID                   | UNCHECKED
            GET     | /evidence/ID/                  | UNCHECKED
            GET     | /evidence/UPPER/proof          | UNCHECKED
            GET     | /evidence/../keys              | UNCHECKED
            GET     | /evidence/../audit/access      | UNCHECKED
            HEAD    | /evidence/ID/proof             | UNCHECKED
            OPTIONS | /evidence/ID/proof             | UNCHECKED
            GET     | /audit/access                  | UNCHECKED
            GET     | /audit/access/                 | UNCHECKED
            GET     | //audit/access                 | UNCHECKED
            GET     | /audit/../keys                 | UNCHECKED
            HEAD    | /audit/access                  | UNCHECKED
            """)
    void should_never_answer_rows_by_any_spelling_while_the_read_path_is_withheld(String method, String target,
            String watch) throws Exception {
        WATCH.set(ReadPathWatch.Status.valueOf(watch));
        String t = target.replace("UPPER", ID.toUpperCase()).replace("ID", ID);
        int reads = READS.get();
        int writes = WRITES.get();
        String answer = http(method, t, auditor());
        int status = status(answer);
        assertThat(answer).as(method + " " + t).doesNotContain(MARK);
        assertThat(READS.get()).as(method + " " + t + " read rows: " + answer).isEqualTo(reads);
        assertThat(WRITES.get()).as(method + " " + t + " wrote: " + answer).isEqualTo(writes);
        // OPTIONS and TRACE are refused at the door (405), never answered by netty-http itself
        assertThat(status / 100).as(method + " " + t + ": " + answer).isNotEqualTo(2);
        if (status == 503) {
            assertThat(answer).contains("CHANGED".equals(watch) ? "read_path_changed" : "read_path_unchecked");
        }
    }

    /** The 503 is given after the token is checked: no token, 401, and no hint about the store. */
    @ParameterizedTest(name = "{0}")
    @CsvSource({"/keys", "/evidence/ID/proof", "/audit/access"})
    void should_check_the_token_before_saying_the_read_path_is_withheld(String target) throws Exception {
        String answer = http("GET", target.replace("ID", ID), null);
        assertThat(status(answer)).as(answer).isEqualTo(401);
        assertThat(answer).doesNotContain("read_path").doesNotContain(MARK);
    }

    /** Exactly as /audit does: the same 503, with the same code, for all three. */
    @Test
    void should_answer_receipts_and_key_lists_as_audit_does() throws Exception {
        for (ReadPathWatch.Status s : List.of(ReadPathWatch.Status.CHANGED, ReadPathWatch.Status.UNCHECKED)) {
            WATCH.set(s);
            String audit = http("GET", "/audit/access", auditor());
            String keys = http("GET", "/keys", auditor());
            String proof = http("GET", "/evidence/" + ID + "/proof", auditor());
            assertThat(status(audit)).isEqualTo(503);
            assertThat(status(keys)).as(keys).isEqualTo(503);
            assertThat(status(proof)).as(proof).isEqualTo(503);
            String code = s == ReadPathWatch.Status.CHANGED ? "read_path_changed" : "read_path_unchecked";
            assertThat(List.of(audit, keys, proof)).allSatisfy(a -> assertThat(a).contains("\"code\":\"" + code + "\""));
        }
    }
}
