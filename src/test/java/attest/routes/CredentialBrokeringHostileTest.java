package attest.routes;

import attest.Exchanges;
import attest.evidence.EvidenceAssembler;
import attest.evidence.EvidenceRecord;
import attest.http.ChannelGuards;
import attest.http.ConnectionLimits;
import attest.http.HardenedNettyHttpComponent;
import attest.http.KeyCheck;
import attest.http.RefusedRequest;
import attest.ingress.ResolveUpstreamProcessor;
import attest.ingress.Upstream;
import attest.ingress.UpstreamRegistry;
import attest.keys.KeyRecords;
import attest.keys.KeyResolver;
import attest.keys.KeySecrets;
import attest.keys.Owner;
import attest.keys.VirtualKey;
import attest.policy.PolicyEngine;
import attest.policy.PolicyFile;
import attest.policy.RateLimiter;
import attest.rules.YamlTree;
import attest.upstream.CallUpstreamProcessor;
import attest.upstream.StaticSecretCredential;
import attest.upstream.UpstreamClient;
import attest.usage.Budget;
import org.apache.camel.CamelConfiguration;
import org.apache.camel.CamelContext;
import org.apache.camel.Exchange;
import org.apache.camel.builder.AdviceWithRouteBuilder;
import org.apache.camel.spi.Registry;
import org.apache.camel.test.main.junit5.AdviceRouteMapping;
import org.apache.camel.test.main.junit5.CamelMainTest;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.LogEvent;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.appender.AbstractAppender;
import org.apache.logging.log4j.core.config.Property;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * An outsider's review of credential brokering (README "The upstream never sees either: Attest strips it and presents
 * the upstream's own credential"; docs/security.md: every credential header stripped, exactly one credential or 401,
 * the gateway's own and client-address headers not spoofable under any spelling, no key in the forwarded query; the
 * guide's bar: "the caller's token never reaches the upstream and never appears in a response"), written from the spec
 * only. Raw HTTP/1.1 bytes go to the real data-plane listener (hardened pipeline, early 401 guard, the real YAML
 * routes); the upstream is a raw socket that records every byte it receives. For every case the caller's token, its
 * virtual key and their encoded forms must appear nowhere in those bytes (case-insensitively), nor in the answer, the
 * evidence or the logs; a call that is forwarded carries the upstream's own credential exactly once.
 */
@CamelMainTest(
        configurationClasses = CredentialBrokeringHostileTest.Wiring.class,
        properties = {"attest.kafka.brokers=", "attest.rules.watch=false", "attest.kafka.relay-brokers=127.0.0.1:9",
                "attest.data.host=127.0.0.1"},
        replaceRouteFromWith = {"control-health=direct:health",
                "control-health-live=direct:health-live", "control-health-ready=direct:health-ready",
                "control-rules=direct:rules", "rules-watch=direct:rules-watch",
                "control-metrics=direct:metrics", "control-approvals=direct:control-approvals",
                "control-auth-callback=direct:auth-callback", "control-audit=direct:audit",
                "evidence-proof=direct:evidence-proof", "control-keys=direct:control-keys",
                "control-openapi=direct:openapi"},
        advices = @AdviceRouteMapping(route = "evidence-record", advice = CredentialBrokeringHostileTest.EvidenceTap.class))
class CredentialBrokeringHostileTest {
    static final int PORT = ReadPathWatchBypassHostileTest.freePort();
    static final Recorder UPSTREAM = Recorder.start();
    static final String LLM_SECRET = "llm-upstream-own-secret-7f3a";
    static final String AZURE_SECRET = "azure-upstream-own-secret-91c2";
    static final String TOKEN = RouteTestConfiguration.TOKENS.user("alice", List.of("inference-user"));
    static final String OTHER_TOKEN = RouteTestConfiguration.TOKENS.user("bob", List.of("inference-user"));
    static final String KEY = KeySecrets.generate();
    static final String KEY2 = KeySecrets.generate();
    static final String SPOOF = "mallory-spoofed-7e1";
    static final String SPOOF_IP = "6.6.6.6";
    static final String CHAT = "{\"model\":\"demo\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    static final List<RefusedRequest> REFUSALS = new CopyOnWriteArrayList<>();
    /** Each evidence record as the store would get it (JSON of every field), with the call's status. */
    static final List<String> EVIDENCE = new CopyOnWriteArrayList<>();
    static final List<String> LOGS = new CopyOnWriteArrayList<>();
    static final String POLICY = """
            rules:
              - id: chat
                decision: ALLOW
                reason: inference users may chat
                match:
                  roles: [inference-user]
                  upstreams: [llm, azure]
                  methods: [POST]
                  paths: [/v1/chat/completions]
            """;

    /** The route-test wiring, with the real listener, key check, upstream client and two upstream credentials. */
    public static class Wiring implements CamelConfiguration {
        @Override
        public void configure(CamelContext context) {
            context.getPropertiesComponent().addOverrideProperty("attest.data.port", String.valueOf(PORT));
            new RouteTestConfiguration().configure(context);
            Registry r = context.getRegistry();
            Clock clock = Clock.systemUTC();
            KeyResolver keys = keys(clock);
            var netty = new HardenedNettyHttpComponent();
            netty.guard(PORT, new ChannelGuards(new ConnectionLimits(0, 0), 60_000, REFUSALS::add)
                    .withEarlyAuth(RouteTestConfiguration.TOKENS.validator(clock), 16_384)
                    .withKeys(KeyCheck.offLoop(keys::check, keys::checkBlocks, Executors.newFixedThreadPool(2))));
            r.bind("netty-http", netty);
            URI base = URI.create("http://127.0.0.1:" + UPSTREAM.port());
            UpstreamRegistry upstreams = new UpstreamRegistry(List.of(
                    new Upstream("llm", "/llm", base, new StaticSecretCredential("Authorization", "Bearer", LLM_SECRET,
                            "test"), Duration.ofSeconds(2), Duration.ofSeconds(5), Duration.ofSeconds(5)),
                    new Upstream("azure", "/azure", base, new StaticSecretCredential("api-key", null, AZURE_SECRET,
                            "test"), Duration.ofSeconds(2), Duration.ofSeconds(5), Duration.ofSeconds(5))));
            PolicyEngine policy = new PolicyEngine(PolicyFile.parse(YamlTree.parse("hostile-policy.yaml", POLICY),
                    Set.of("llm", "azure")), RateLimiter.inMemory(clock));
            for (String name : List.of("resolveUpstreamProcessor", "callUpstreamProcessor", "verifyKeyProcessor",
                    "decidePolicyProcessor", "applyTokenCeilingProcessor")) {
                r.unbind(name);
            }
            r.bind("resolveUpstreamProcessor", new ResolveUpstreamProcessor(upstreams));
            r.bind("decidePolicyProcessor", new attest.policy.DecidePolicyProcessor(policy));
            r.bind("applyTokenCeilingProcessor", new attest.policy.ApplyTokenCeilingProcessor(policy));
            r.bind("verifyKeyProcessor", new attest.identity.VerifyKeyProcessor(keys));
            r.bind("callUpstreamProcessor", new CallUpstreamProcessor(new UpstreamClient(clock, 1 << 20,
                    UpstreamClient.DEFAULT_MAX_DECODED_BYTES, UpstreamClient.Kind.NETTY), Executors.newFixedThreadPool(2)));
        }

        static KeyResolver keys(Clock clock) {
            Owner kim = new Owner("kim", "kim", true, List.of("inference-user"), List.of(), Instant.now());
            Map<String, VirtualKey> live = new HashMap<>();
            for (String secret : List.of(KEY, KEY2)) {
                live.put(secret, new VirtualKey(UUID.randomUUID(), "k", KeySecrets.hint(secret), "kim", "kim", "user",
                        "attest-cli", List.of(), List.of(), Budget.NONE, Instant.now(), "kim",
                        Instant.now().plus(Duration.ofDays(1)), null, null));
            }
            KeyRecords records = new KeyRecords() {
                @Override
                public Optional<VirtualKey> bySecret(String secret) {
                    return Optional.ofNullable(live.get(secret));
                }

                @Override
                public Optional<Owner> owner(String subject) {
                    return Optional.of(kim).filter(o -> o.subject().equals(subject));
                }

                @Override
                public void saveOwner(Owner o) {
                    // the owner is fixed
                }

                @Override
                public List<String> liveOwners() {
                    return List.of("kim");
                }
            };
            return new KeyResolver(records, subject -> Optional.of(kim), clock, Duration.ZERO, Duration.ofSeconds(30),
                    1_000, "iss");
        }
    }

    /** The evidence step records what the store would get: the record filled from the exchange, as JSON. */
    public static class EvidenceTap extends AdviceWithRouteBuilder {
        @Override
        public void configure() {
            weaveById("record-evidence").replace().process(e -> {
                EvidenceRecord rec = e.getProperty(Exchanges.EVIDENCE, EvidenceRecord.class);
                if (rec != null) {
                    new EvidenceAssembler("hostile").fill(rec, e);
                }
                EVIDENCE.add(e.getMessage().getHeader(Exchange.HTTP_RESPONSE_CODE, "", String.class) + " "
                        + (rec == null ? "no-record" : dump(rec)));
            });
        }
    }

    /** Every field of an evidence record as text (byte arrays as UTF-8): what the store would hold. */
    static String dump(Object o) throws IllegalAccessException {
        StringBuilder b = new StringBuilder();
        for (Class<?> c = o.getClass(); c != null && c != Object.class; c = c.getSuperclass()) {
            for (java.lang.reflect.Field f : c.getDeclaredFields()) {
                if (java.lang.reflect.Modifier.isStatic(f.getModifiers())) {
                    continue;
                }
                f.setAccessible(true);
                Object v = f.get(o);
                b.append(f.getName()).append('=').append(v instanceof byte[] bytes
                        ? new String(bytes, StandardCharsets.UTF_8) : String.valueOf(v)).append('\n');
            }
        }
        return b.toString();
    }

    static final class LogTap extends AbstractAppender {
        LogTap() {
            super("hostile-log-tap", null, null, true, Property.EMPTY_ARRAY);
        }

        @Override
        public void append(LogEvent event) {
            StringBuilder b = new StringBuilder(event.getMessage().getFormattedMessage());
            for (Throwable t = event.getThrown(); t != null; t = t.getCause()) {
                b.append(" | ").append(t);
            }
            LOGS.add(b.toString());
        }
    }

    static LogTap tap;

    @BeforeAll
    static void tapLogs() {
        LoggerContext ctx = (LoggerContext) LogManager.getContext(false);
        tap = new LogTap();
        tap.start();
        ctx.getConfiguration().getRootLogger().addAppender(tap, null, null);
        ctx.updateLoggers();
    }

    @AfterAll
    static void untapLogs() {
        LoggerContext ctx = (LoggerContext) LogManager.getContext(false);
        ctx.getConfiguration().getRootLogger().removeAppender(tap.getName());
        ctx.updateLoggers();
        UPSTREAM.close();
    }

    // ---------------------------------------------------------------- the stand-in upstream: every byte recorded

    static final class Recorder implements AutoCloseable {
        final ServerSocket server;
        final List<byte[]> received = new CopyOnWriteArrayList<>();

        private Recorder(ServerSocket server) {
            this.server = server;
        }

        static Recorder start() {
            try {
                Recorder r = new Recorder(new ServerSocket(0, 64, InetAddress.getLoopbackAddress()));
                Thread t = new Thread(r::accept, "hostile-upstream");
                t.setDaemon(true);
                t.start();
                return r;
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        }

        int port() {
            return server.getLocalPort();
        }

        private void accept() {
            while (!server.isClosed()) {
                try {
                    Socket s = server.accept();
                    Thread t = new Thread(() -> serve(s), "hostile-upstream-conn");
                    t.setDaemon(true);
                    t.start();
                } catch (IOException e) {
                    return;
                }
            }
        }

        private void serve(Socket s) {
            try (s) {
                InputStream in = s.getInputStream();
                OutputStream out = s.getOutputStream();
                while (true) {
                    ByteArrayOutputStream all = new ByteArrayOutputStream();
                    String head = readUntilBlankLine(in, all);
                    if (head == null) {
                        return;
                    }
                    String lower = head.toLowerCase(Locale.ROOT);
                    if (lower.contains("\ntransfer-encoding:") && lower.contains("chunked")) {
                        while (true) {
                            String size = readLine(in, all);
                            int n = Integer.parseInt(size.split(";")[0].trim(), 16);
                            if (n == 0) {
                                readUntilBlankLine(in, all); // trailers
                                break;
                            }
                            all.write(in.readNBytes(n + 2));
                        }
                    } else {
                        int i = lower.indexOf("\ncontent-length:");
                        if (i >= 0) {
                            int end = lower.indexOf('\r', i + 1);
                            all.write(in.readNBytes(Integer.parseInt(lower.substring(i + 16, end).trim())));
                        }
                    }
                    received.add(all.toByteArray());
                    byte[] answer = "{\"choices\":[]}".getBytes(StandardCharsets.UTF_8);
                    out.write(("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + answer.length
                            + "\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
                    out.write(answer);
                    out.flush();
                }
            } catch (IOException | RuntimeException e) {
                // the gateway went away: what it sent is recorded
            }
        }

        private static String readLine(InputStream in, ByteArrayOutputStream all) throws IOException {
            ByteArrayOutputStream line = new ByteArrayOutputStream();
            int b;
            while ((b = in.read()) >= 0) {
                all.write(b);
                if (b == '\n') {
                    break;
                }
                if (b != '\r') {
                    line.write(b);
                }
            }
            return line.toString(StandardCharsets.ISO_8859_1);
        }

        /** Reads up to and including an empty line; the text read, or null at the connection's end. */
        private static String readUntilBlankLine(InputStream in, ByteArrayOutputStream all) throws IOException {
            ByteArrayOutputStream head = new ByteArrayOutputStream();
            int matched = 0;
            int b;
            while (matched < 4 && (b = in.read()) >= 0) {
                head.write(b);
                all.write(b);
                matched = (b == '\r' && (matched == 0 || matched == 2)) || (b == '\n' && (matched == 1 || matched == 3))
                        ? matched + 1 : b == '\r' ? 1 : 0;
                if (matched == 2 && head.size() == 2) {
                    return "\r\n"; // no trailers
                }
            }
            return matched < 4 ? null : head.toString(StandardCharsets.ISO_8859_1);
        }

        @Override
        public void close() {
            try {
                server.close();
            } catch (IOException e) {
                // closed anyway
            }
        }
    }

    // ---------------------------------------------------------------- the cases

    enum Expect {
        /** 200, forwarded once, clean. */
        FORWARDED,
        /** 401, nothing forwarded, the refusal recorded. */
        REFUSED,
        /** Either of the above (or another 4xx with nothing forwarded): what is asserted is that nothing leaks. */
        CLEAN
    }

    record Case(String name, Expect expect, String target, List<String> headers, boolean chunkedWithTrailers,
                List<String> trailers) {
        @Override
        public String toString() {
            return name;
        }
    }

    static final String A = "Authorization: Bearer " + TOKEN;
    static final String CHAT_PATH = "/llm/v1/chat/completions";

    static Case c(String name, Expect expect, String... headers) {
        return new Case(name, expect, CHAT_PATH, List.of(headers), false, List.of());
    }

    static Case q(String name, Expect expect, String target, String... headers) {
        return new Case(name, expect, target, List.of(headers), false, List.of());
    }

    static String b64(String s) {
        return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
    }

    static String b64url(String s) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(s.getBytes(StandardCharsets.UTF_8));
    }

    /** The secret's bytes in hex, lower case. */
    static String hex(String s) {
        return java.util.HexFormat.of().formatHex(s.getBytes(StandardCharsets.UTF_8));
    }

    /** The secret's bytes in hex, upper case. */
    static String hexUpper(String s) {
        return java.util.HexFormat.of().withUpperCase().formatHex(s.getBytes(StandardCharsets.UTF_8));
    }

    /** The secret's bytes in hex, letters alternately upper and lower case. */
    static String hexMixed(String s) {
        char[] c = hex(s).toCharArray();
        for (int i = 0; i < c.length; i += 2) {
            c[i] = Character.toUpperCase(c[i]);
        }
        return new String(c);
    }

    static String url(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    static Stream<Case> cases() {
        String t = TOKEN;
        return Stream.of(
                c("baseline token", Expect.FORWARDED, A),
                c("baseline key in Authorization", Expect.FORWARDED, "Authorization: Bearer " + KEY),
                c("baseline key in x-api-key", Expect.FORWARDED, "x-api-key: " + KEY),
                c("baseline key in api-key", Expect.FORWARDED, "api-key: " + KEY),
                c("scheme bearer lower case", Expect.CLEAN, "Authorization: bearer " + t),
                c("scheme and name upper case", Expect.CLEAN, "AUTHORIZATION: BEARER " + t),
                c("name lower case", Expect.CLEAN, "authorization: Bearer " + t),
                c("two spaces after the scheme", Expect.CLEAN, "Authorization: Bearer  " + t),
                c("Basic user:token", Expect.CLEAN, "Authorization: Basic " + b64("alice:" + t)),
                c("Token scheme", Expect.CLEAN, "Authorization: Token " + t),
                c("Digest scheme", Expect.CLEAN, "Authorization: Digest username=\"alice\", response=\"" + t + "\""),
                c("Proxy-Authorization Bearer", Expect.CLEAN, A, "Proxy-Authorization: Bearer " + t),
                c("Proxy-Authorization Basic", Expect.CLEAN, A, "Proxy-Authorization: Basic " + b64("alice:" + t)),
                c("X-Api-Key token", Expect.CLEAN, A, "X-Api-Key: " + t),
                c("X_API_KEY token", Expect.REFUSED, A, "X_API_KEY: " + t),
                c("api-key token", Expect.CLEAN, A, "api-key: " + t),
                c("x-goog-api-key", Expect.CLEAN, A, "x-goog-api-key: " + t),
                c("X-Auth-Token", Expect.CLEAN, A, "X-Auth-Token: " + t),
                c("X-Access-Token", Expect.CLEAN, A, "X-Access-Token: " + t),
                c("X-Amz-Security-Token", Expect.CLEAN, A, "X-Amz-Security-Token: " + t),
                c("Cookie", Expect.CLEAN, A, "Cookie: session=" + t),
                c("Cookie among others", Expect.CLEAN, A, "Cookie: a=b; tok=" + t + "; c=d"),
                c("X-My-Secret (custom name, the token itself)", Expect.CLEAN, A, "X-My-Secret: " + t),
                // the token copied under names no list knows, inside a value, folded into another header
                c("Set-Cookie inbound", Expect.CLEAN, A, "Set-Cookie: s=" + t),
                c("token inside a longer value", Expect.CLEAN, A, "X-Trace: before-" + t + "-after"),
                c("X-Original-Authorization", Expect.CLEAN, A, "X-Original-Authorization: Bearer " + t),
                c("OpenAI-Organization beside the token", Expect.CLEAN, A, "OpenAI-Organization: org-123",
                        "X-Note: " + t),
                c("obs-fold hides a second header", Expect.CLEAN, A, "X-Note: a", " X-Api-Key: " + t),
                c("a key under a custom name", Expect.CLEAN, "x-api-key: " + KEY, "X-Upstream-Auth: " + KEY),
                // the secret base64-encoded under a name no list knows, at each of base64's three alignments
                c("Basic alice:token under a custom name", Expect.CLEAN, A, "X-Upstream: Basic " + b64("alice:" + t)),
                c("base64 of bob:token under a custom name", Expect.CLEAN, A, "X-Upstream: " + b64("bob:" + t)),
                c("url-safe base64 of jane:token, unpadded", Expect.CLEAN, A,
                        "X-Upstream: " + b64url("jane:" + t)),
                c("base64 of the token alone inside a longer value", Expect.CLEAN, A,
                        "X-Trace: v1." + b64(t) + ".end"),
                c("base64 of bob:key under a custom name", Expect.CLEAN, "x-api-key: " + KEY,
                        "X-Upstream: Basic " + b64("bob:" + KEY)),
                // the secret hex-encoded (RFC 4648 base16, either case) under a name no list knows
                c("hex of the token under a custom name", Expect.CLEAN, A, "X-Upstream: " + hex(t)),
                c("upper-case hex of the token inside a longer value", Expect.CLEAN, A,
                        "X-Trace: v1." + hexUpper(t) + ".end"),
                c("mixed-case hex of bob:token", Expect.CLEAN, A, "X-Upstream: " + hexMixed("bob:" + t)),
                c("hex of the key under a custom name", Expect.CLEAN, "x-api-key: " + KEY, "X-Upstream: " + hex(KEY)),
                c("upper-case hex of bob:key", Expect.CLEAN, "x-api-key: " + KEY,
                        "X-Upstream: " + hexUpper("bob:" + KEY)),
                c("X-Forwarded-Authorization", Expect.CLEAN, A, "X-Forwarded-Authorization: Bearer " + t),
                c("Forwarded with the token", Expect.CLEAN, A, "Forwarded: for=1.2.3.4;by=\"" + t + "\""),
                c("Connection names X-Api-Key", Expect.CLEAN, A, "Connection: X-Api-Key", "X-Api-Key: " + t),
                c("Connection names Authorization (the injected one must stay)", Expect.FORWARDED, A,
                        "Connection: Authorization"),
                c("Connection names api-key on an api-key upstream", Expect.CLEAN, "Connection: api-key",
                        "api-key: " + KEY),
                c("h2c upgrade with the token in HTTP2-Settings", Expect.CLEAN, A, "Connection: Upgrade, HTTP2-Settings",
                        "Upgrade: h2c", "HTTP2-Settings: " + t),
                c("obs-fold continues Authorization", Expect.CLEAN, "Authorization: Bearer", " " + t),
                c("header name with a trailing space", Expect.CLEAN, A, "X-Api-Key : " + t),
                c("Authorization name with a trailing space", Expect.CLEAN, "Authorization : Bearer " + t),
                c("repeated X-Api-Key with the token", Expect.CLEAN, A, "X-Api-Key: a", "X-Api-Key: " + t),
                new Case("chunked body with trailers carrying the token", Expect.CLEAN, CHAT_PATH,
                        List.of(A, "TE: trailers", "Trailer: X-Api-Key, Authorization"), true,
                        List.of("X-Api-Key: " + t, "Authorization: Bearer " + t)),
                new Case("chunked body with a trailer Cookie", Expect.CLEAN, CHAT_PATH,
                        List.of(A, "Trailer: Cookie"), true, List.of("Cookie: s=" + t)),
                // the query
                q("?api_key=", Expect.CLEAN, CHAT_PATH + "?api_key=" + t, A),
                q("?key=", Expect.CLEAN, CHAT_PATH + "?key=" + t, A),
                q("?access_token=", Expect.CLEAN, CHAT_PATH + "?access_token=" + t, A),
                q("?token=", Expect.CLEAN, CHAT_PATH + "?token=" + t, A),
                q("?Api-Key=", Expect.CLEAN, CHAT_PATH + "?Api-Key=" + t, A),
                q("?APIKEY=", Expect.CLEAN, CHAT_PATH + "?APIKEY=" + t, A),
                q("?%61pi_key= (percent-encoded name)", Expect.CLEAN, CHAT_PATH + "?%61pi_key=" + t, A),
                q("?api%5Fkey= (encoded underscore)", Expect.CLEAN, CHAT_PATH + "?api%5Fkey=" + t, A),
                q("?api_key twice", Expect.CLEAN, CHAT_PATH + "?api_key=x&api_key=" + t, A),
                q("?model=x&key= (not first)", Expect.CLEAN, CHAT_PATH + "?model=x&key=" + t, A),
                q("?key= with the key", Expect.CLEAN, CHAT_PATH + "?key=" + KEY, "x-api-key: " + KEY),
                q("?api_key+= (form space)", Expect.CLEAN, CHAT_PATH + "?api_key+=" + t, A),
                q("fragment", Expect.CLEAN, CHAT_PATH + "#api_key=" + t, A),
                q("no sign-in, the token in the query", Expect.REFUSED, CHAT_PATH + "?access_token=" + t),
                q("no sign-in, the key in the query", Expect.REFUSED, CHAT_PATH + "?api_key=" + KEY),
                q("no sign-in, the token in a fragment", Expect.REFUSED, CHAT_PATH + "#access_token=" + t),
                q("fragment after a query", Expect.CLEAN, CHAT_PATH + "?model=x#" + t, A),
                // the token in the query under a name no list knows: refused, never forwarded
                q("?x-api-key=", Expect.CLEAN, CHAT_PATH + "?x-api-key=" + t, A),
                q("?foo= (the token under any name)", Expect.CLEAN, CHAT_PATH + "?foo=" + t, A),
                q("?x= base64 of bob:token", Expect.CLEAN, CHAT_PATH + "?x=" + url(b64("bob:" + t)), A),
                q("?x= url-safe base64 of jane:token", Expect.CLEAN, CHAT_PATH + "?x=" + b64url("jane:" + t), A),
                q("?x= hex of the token", Expect.CLEAN, CHAT_PATH + "?x=" + hex(t), A),
                q("?x= upper-case hex of bob:token", Expect.CLEAN, CHAT_PATH + "?x=" + hexUpper("bob:" + t), A),
                q("?x= mixed-case hex of the key", Expect.CLEAN, CHAT_PATH + "?x=" + hexMixed(KEY), "x-api-key: " + KEY),
                q("?a=1;api_key= (semicolon separator)", Expect.CLEAN, CHAT_PATH + "?a=1;api_key=" + t, A),
                q("?x-goog-api-key= with the key", Expect.CLEAN, CHAT_PATH + "?x-goog-api-key=" + KEY, "x-api-key: " + KEY),
                q("?q= with the percent-encoded token", Expect.CLEAN, CHAT_PATH + "?q=" + t.replace(".", "%2E"), A),
                // exactly one credential
                c("token and a live key", Expect.REFUSED, A, "X-Api-Key: " + KEY),
                c("token and a key in api-key", Expect.REFUSED, A, "api-key: " + KEY),
                c("key in Authorization and in x-api-key", Expect.REFUSED, "Authorization: Bearer " + KEY,
                        "x-api-key: " + KEY2),
                c("two keys", Expect.REFUSED, "x-api-key: " + KEY, "api-key: " + KEY2),
                c("the token twice", Expect.REFUSED, A, A),
                c("two tokens", Expect.REFUSED, A, "Authorization: Bearer " + OTHER_TOKEN),
                c("two tokens in one header", Expect.REFUSED, "Authorization: Bearer " + TOKEN + ", Bearer " + OTHER_TOKEN),
                c("token and a key as X_API_KEY", Expect.REFUSED, A, "X_API_KEY: " + KEY),
                c("token and a key in a cookie", Expect.CLEAN, A, "Cookie: atk=" + KEY),
                c("the same key twice", Expect.CLEAN, "x-api-key: " + KEY, "x-api-key: " + KEY),
                // spoofed gateway and proxy headers
                c("X-Attest-Subject", Expect.FORWARDED, A, "X-Attest-Subject: " + SPOOF),
                c("x-attest-subject lower", Expect.FORWARDED, A, "x-attest-subject: " + SPOOF),
                c("X_Attest_Subject", Expect.FORWARDED, A, "X_Attest_Subject: " + SPOOF),
                c("X-ATTEST-SUBJECT", Expect.FORWARDED, A, "X-ATTEST-SUBJECT: " + SPOOF),
                c("X-Attest-Roles", Expect.FORWARDED, A, "X-Attest-Roles: " + SPOOF),
                c("X-Attest-Subject with a trailing space in the name", Expect.CLEAN, A, "X-Attest-Subject : " + SPOOF),
                c("X-Request-Id", Expect.FORWARDED, A, "X-Request-Id: " + SPOOF),
                c("X-Forwarded-For", Expect.FORWARDED, A, "X-Forwarded-For: " + SPOOF_IP),
                c("X_Forwarded_For", Expect.FORWARDED, A, "X_Forwarded_For: " + SPOOF_IP),
                c("X-Forwarded-Host", Expect.FORWARDED, A, "X-Forwarded-Host: " + SPOOF),
                c("X-Forwarded-Proto", Expect.FORWARDED, A, "X-Forwarded-Proto: " + SPOOF),
                c("X-Forwarded-Prefix", Expect.FORWARDED, A, "X-Forwarded-Prefix: /" + SPOOF),
                c("Forwarded", Expect.FORWARDED, A, "Forwarded: for=" + SPOOF_IP),
                c("True-Client-IP", Expect.FORWARDED, A, "True-Client-IP: " + SPOOF_IP),
                c("CF-Connecting-IP", Expect.FORWARDED, A, "CF-Connecting-IP: " + SPOOF_IP),
                c("X-Real-IP", Expect.FORWARDED, A, "X-Real-IP: " + SPOOF_IP),
                c("X_Real_IP", Expect.FORWARDED, A, "X_Real_IP: " + SPOOF_IP),
                c("X-Client-IP", Expect.FORWARDED, A, "X-Client-IP: " + SPOOF_IP),
                c("X-Cluster-Client-IP", Expect.FORWARDED, A, "X-Cluster-Client-IP: " + SPOOF_IP),
                c("Fastly-Client-IP", Expect.FORWARDED, A, "Fastly-Client-IP: " + SPOOF_IP),
                c("X-Original-Forwarded-For", Expect.FORWARDED, A, "X-Original-Forwarded-For: " + SPOOF_IP),
                c("X_Original_Forwarded_For", Expect.FORWARDED, A, "X_Original_Forwarded_For: " + SPOOF_IP),
                c("X-Envoy-External-Address", Expect.FORWARDED, A, "X-Envoy-External-Address: " + SPOOF_IP),
                c("CloudFront-Viewer-Address", Expect.FORWARDED, A, "CloudFront-Viewer-Address: " + SPOOF_IP + ":443"),
                c("X-ProxyUser-Ip", Expect.FORWARDED, A, "X-ProxyUser-Ip: " + SPOOF_IP),
                c("X-Originating-IP", Expect.FORWARDED, A, "X-Originating-IP: " + SPOOF_IP),
                c("X-Azure-ClientIP", Expect.FORWARDED, A, "X-Azure-ClientIP: " + SPOOF_IP),
                c("X-Azure-SocketIP", Expect.FORWARDED, A, "X-Azure-SocketIP: " + SPOOF_IP),
                c("X-AppEngine-User-IP", Expect.FORWARDED, A, "X-AppEngine-User-IP: " + SPOOF_IP),
                c("X-Remote-IP", Expect.FORWARDED, A, "X-Remote-IP: " + SPOOF_IP),
                c("X-Remote-Addr", Expect.FORWARDED, A, "X-Remote-Addr: " + SPOOF_IP),
                c("Remote-Addr", Expect.FORWARDED, A, "Remote-Addr: " + SPOOF_IP),
                c("X-Forwarded (bare)", Expect.FORWARDED, A, "X-Forwarded: for=" + SPOOF_IP),
                c("X-Forwarded-For obs-folded", Expect.CLEAN, A, "X-Forwarded-For: 1.1.1.1,", " " + SPOOF_IP));
    }

    /** Every form of every secret a case may carry: raw, base64 of it and of user:it, URL-encoded, its tail. */
    static List<String> secretForms() {
        List<String> forms = new ArrayList<>();
        for (String s : List.of(TOKEN, OTHER_TOKEN, KEY, KEY2)) {
            forms.add(s);
            forms.add(url(s));
            forms.add(b64(s));
            forms.add(b64("alice:" + s));
            forms.add(b64("bob:" + s));
            forms.add(b64url("jane:" + s));
            forms.add(hex(s));
            forms.add(hexUpper(s));
            forms.add(hexMixed(s));
            forms.add(s.substring(s.length() - 24)); // a JWT's signature tail, a key's random tail
        }
        return forms;
    }

    static String sent(Case k) {
        StringBuilder b = new StringBuilder("POST " + k.target() + " HTTP/1.1\r\nHost: 127.0.0.1:" + PORT + "\r\n");
        for (String h : k.headers()) {
            b.append(h).append("\r\n");
        }
        b.append("Content-Type: application/json\r\nConnection: close\r\n");
        if (k.chunkedWithTrailers()) {
            b.append("Transfer-Encoding: chunked\r\n\r\n");
            byte[] body = CHAT.getBytes(StandardCharsets.UTF_8);
            b.append(Integer.toHexString(body.length)).append("\r\n").append(CHAT).append("\r\n0\r\n");
            for (String t : k.trailers()) {
                b.append(t).append("\r\n");
            }
            return b.append("\r\n").toString();
        }
        return b.append("Content-Length: ").append(CHAT.length()).append("\r\n\r\n").append(CHAT).toString();
    }

    static String exchange(String request) throws IOException {
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), PORT)) {
            s.setSoTimeout(15_000);
            s.getOutputStream().write(request.getBytes(StandardCharsets.ISO_8859_1));
            s.getOutputStream().flush();
            ByteArrayOutputStream got = new ByteArrayOutputStream();
            InputStream in = s.getInputStream();
            byte[] buf = new byte[8192];
            int n;
            try {
                while (!complete(got.toString(StandardCharsets.ISO_8859_1)) && (n = in.read(buf)) >= 0) {
                    got.write(buf, 0, n);
                }
            } catch (IOException e) {
                // a reset after the answer: what was read is the answer
            }
            return got.toString(StandardCharsets.ISO_8859_1);
        }
    }

    /** An answer whose head has arrived with as many body bytes as it declares (the connection may stay open). */
    static boolean complete(String answer) {
        int end = answer.indexOf("\r\n\r\n");
        if (end < 0) {
            return false;
        }
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(?im)^content-length:\\s*(\\d+)")
                .matcher(answer.substring(0, end));
        return m.find() && answer.length() - end - 4 >= Integer.parseInt(m.group(1));
    }

    static int status(String answer) {
        return answer.startsWith("HTTP/1.1 ") ? Integer.parseInt(answer.substring(9, 12)) : -1;
    }

    /** The header lines of a recorded upstream request, as [lower-case name, value]. */
    static List<String[]> headerLines(String raw) {
        List<String[]> out = new ArrayList<>();
        String head = raw.substring(0, Math.max(0, raw.indexOf("\r\n\r\n")));
        String[] lines = head.split("\r\n");
        for (int i = 1; i < lines.length; i++) {
            int colon = lines[i].indexOf(':');
            out.add(new String[]{colon < 0 ? lines[i] : lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT),
                    colon < 0 ? "" : lines[i].substring(colon + 1).trim()});
        }
        return out;
    }

    static List<String> values(String raw, String name) {
        return headerLines(raw).stream().filter(h -> h[0].equals(name)).map(h -> h[1]).toList();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void should_never_let_the_callers_credential_reach_the_upstream(Case k) throws Exception {
        UPSTREAM.received.clear();
        int refusalsBefore = REFUSALS.size();
        int evidenceBefore = EVIDENCE.size();
        int logsBefore = LOGS.size();
        String answer = exchange(sent(k));
        int status = status(answer);
        List<String> got = UPSTREAM.received.stream().map(b -> new String(b, StandardCharsets.ISO_8859_1)).toList();
        String everything = String.join("\n", got).toLowerCase(Locale.ROOT);

        for (String form : secretForms()) {
            assertThat(everything).as("the upstream received a caller secret (%s)", k.name())
                    .doesNotContain(form.toLowerCase(Locale.ROOT));
            assertThat(answer.toLowerCase(Locale.ROOT)).as("the answer carries a caller secret")
                    .doesNotContain(form.toLowerCase(Locale.ROOT));
        }
        assertThat(everything).as("a spoofed value reached the upstream").doesNotContain(SPOOF).doesNotContain(SPOOF_IP);
        assertThat(answer).doesNotContain(LLM_SECRET).doesNotContain(AZURE_SECRET);

        switch (k.expect()) {
            case FORWARDED -> assertThat(status).as(answer).isEqualTo(200);
            case REFUSED -> {
                assertThat(status).as(answer).isEqualTo(401);
                assertThat(got).as("a refused call reached the upstream").isEmpty();
            }
            case CLEAN -> assertThat(status == 200 || status >= 400 && status < 500 && got.isEmpty())
                    .as("either served cleanly or refused with nothing forwarded: " + answer).isTrue();
        }
        if (status == 200) {
            assertThat(got).hasSize(1);
            String raw = got.get(0);
            boolean azure = k.target().startsWith("/azure");
            assertThat(values(raw, "authorization")).as("the upstream's own credential, exactly once")
                    .isEqualTo(azure ? List.of() : List.of("Bearer " + LLM_SECRET));
            assertThat(values(raw, "api-key")).isEqualTo(azure ? List.of(AZURE_SECRET) : List.of());
            assertThat(headerLines(raw)).as("a gateway header spelt by the caller")
                    .noneMatch(h -> h[0].replace('_', '-').startsWith("x-attest-") && !h[0].startsWith("x-attest-"));
            assertThat(values(raw, "x-attest-subject")).hasSize(1);
            assertThat(raw.substring(0, raw.indexOf("\r\n\r\n")).toLowerCase(Locale.ROOT))
                    .as("no trailer or credential header name forwarded")
                    .doesNotContain("\r\ntrailer:").doesNotContain("\r\nproxy-authorization:")
                    .doesNotContain("\r\ncookie:").doesNotContain("\r\nx-api-key:");
        }
        if (status == 401) { // the door's refusal is recorded off the connection's thread: wait for it
            await("the 401 is recorded").atMost(Duration.ofSeconds(10)).until(() -> REFUSALS.size() > refusalsBefore
                    || EVIDENCE.subList(evidenceBefore, EVIDENCE.size()).stream().anyMatch(e -> e.startsWith("401 ")));
        }
        List<String> stored = new ArrayList<>(EVIDENCE.subList(evidenceBefore, EVIDENCE.size()));
        for (RefusedRequest r : REFUSALS.subList(refusalsBefore, REFUSALS.size())) { // as the refusal lane stores it
            stored.add(dump(new EvidenceAssembler("hostile").refusal(r, Instant.now())));
        }
        String evidence = String.join("\n", stored).toLowerCase(Locale.ROOT);
        String logs = String.join("\n", LOGS.subList(logsBefore, LOGS.size())).toLowerCase(Locale.ROOT);
        for (String form : secretForms()) {
            assertThat(evidence).as("evidence holds a caller secret in clear").doesNotContain(form.toLowerCase(Locale.ROOT));
            assertThat(logs).as("a log line holds a caller secret").doesNotContain(form.toLowerCase(Locale.ROOT));
        }
        assertThat(evidence + logs).doesNotContain(LLM_SECRET).doesNotContain(AZURE_SECRET);
    }

    @Test
    void should_present_the_api_key_upstreams_own_key_once_and_never_the_callers() throws Exception {
        for (String sign : List.of("api-key: " + KEY, "x-api-key: " + KEY, "Authorization: Bearer " + KEY, A)) {
            UPSTREAM.received.clear();
            String answer = exchange(sent(q("azure " + sign, Expect.FORWARDED, "/azure/v1/chat/completions", sign,
                    "Api-Key: " + KEY2.substring(0, 3))));
            // a second api-key header of no key form beside the sign-in: either refused, or dropped
            if (status(answer) == 200) {
                String raw = new String(UPSTREAM.received.get(0), StandardCharsets.ISO_8859_1);
                assertThat(values(raw, "api-key")).as(sign).isEqualTo(List.of(AZURE_SECRET));
                assertThat(values(raw, "authorization")).as(sign).isEmpty();
                assertThat(raw).doesNotContain(KEY).doesNotContain(TOKEN);
            } else {
                assertThat(status(answer)).as(answer).isEqualTo(401);
                assertThat(UPSTREAM.received).isEmpty();
            }
            UPSTREAM.received.clear();
            String plain = exchange(sent(q("azure " + sign, Expect.FORWARDED, "/azure/v1/chat/completions", sign)));
            assertThat(status(plain)).as(plain).isEqualTo(200);
            String raw = new String(UPSTREAM.received.get(0), StandardCharsets.ISO_8859_1);
            assertThat(values(raw, "api-key")).as(sign).isEqualTo(List.of(AZURE_SECRET));
            assertThat(values(raw, "authorization")).as(sign).isEmpty();
            assertThat(raw).doesNotContain(KEY).doesNotContain(TOKEN);
        }
    }
}
