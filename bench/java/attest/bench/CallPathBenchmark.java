package attest.bench;

import attest.Exchanges;
import attest.evidence.EvidenceEvents;
import attest.evidence.EvidenceRecord;
import attest.evidence.chain.ChainRecords;
import attest.evidence.chain.EvidenceChain;
import attest.ops.CallLogContext;
import org.apache.camel.AsyncCallback;
import org.apache.camel.AsyncProcessor;
import org.apache.camel.Exchange;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.support.AsyncProcessorSupport;
import org.apache.camel.support.DefaultExchange;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

/**
 * CPU per call, on one core, of two pieces of a forwarded call's path that run whatever the machine does, so that a
 * change to them can be measured apart from the whole gateway (whose CPU per call moves 30% with the machine's load):
 * <ul>
 * <li>{@code evidenceViews}: what the evidence writer renders for one call: the chain entry of the open record and of
 * the terminal one (the record's canonical body, then the entry's envelope around it) and the Kafka event of the
 * terminal record;</li>
 * <li>{@code logContext}: {@value #STEPS} route steps (about a forwarded call's count) passing through the log
 * context's interceptor, with a step that does nothing; {@code logContextNested}: the same steps inside one step of
 * the same call (as a {@code direct:} route's steps run inside the step that sends to it);</li>
 * <li>{@code stripHeaders}: the caller's headers of a typical SDK request through the credential stripper;</li>
 * <li>{@code usageRead}: the usage of the bench's chat completion answer as {@code ReadUsageProcessor} reads it
 * ({@code TokenUsage.read}), and {@code usageTree} as it read it before (a tree of the whole answer);</li>
 * <li>{@code mintRequestId}: a call's request id ({@code RequestIds.mint}), and {@code randomUuid} as it was minted
 * before ({@code UUID.randomUUID}, SecureRandom);</li>
 * <li>{@code mintEvidenceIds}: the two other ids of a call, its evidence record's and its Kafka event's
 * ({@code RandomIds.uuid}), and {@code randomEvidenceIds} as they were minted before ({@code UUID.randomUUID});</li>
 * <li>{@code ruleLimit}: the limit a policy rule's request rate is checked against, made per call
 * ({@code SharedRateLimiter.limit}).</li>
 * </ul>
 * Run: {@code java -cp <test classpath> org.openjdk.jmh.Main CallPathBenchmark} (docs/benchmarks.md).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Threads(1)
public class CallPathBenchmark {
    static final int STEPS = 30;

    private EvidenceRecord open;
    private EvidenceRecord terminal;
    private Exchange exchange;
    private AsyncProcessor[] steps;
    private AsyncProcessor outer;
    private final AsyncCallback done = doneSync -> { };
    private long position;
    private static final com.fasterxml.jackson.databind.ObjectMapper JSON =
            new com.fasterxml.jackson.databind.ObjectMapper();
    private final byte[] answer = ("{\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion\",\"created\":1,"
            + "\"model\":\"demo-model\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
            + "\"content\":\"Hello! How can I help you today?\"},\"finish_reason\":\"stop\"}],"
            + "\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":9,\"total_tokens\":18}}")
            .getBytes(StandardCharsets.UTF_8);
    private final java.util.List<java.util.Map.Entry<String, String>> headers = java.util.List.of(
            java.util.Map.entry("Host", "127.0.0.1:8080"), java.util.Map.entry("Authorization", "Bearer eyJ..."),
            java.util.Map.entry("Content-Type", "application/json"), java.util.Map.entry("Content-Length", "87"),
            java.util.Map.entry("Accept", "application/json"), java.util.Map.entry("User-Agent", "OpenAI/Java 4.1"),
            java.util.Map.entry("X-Stainless-Lang", "java"), java.util.Map.entry("X-Stainless-Runtime-Version", "25"),
            java.util.Map.entry("X-Stainless-Retry-Count", "0"), java.util.Map.entry("Connection", "keep-alive"));

    @Setup
    public void setup() {
        EvidenceEvents.keyDigestsWith(new byte[32]);
        open = record();
        terminal = record();
        terminal.setFirstByteAt(Instant.parse("2026-11-30T10:15:29.003412Z"));
        terminal.setStatus(200);
        terminal.setUpstreamStatus(200);
        terminal.setResponseBody("{\"id\":\"chatcmpl-1\",\"choices\":[]}".getBytes(StandardCharsets.UTF_8));
        terminal.setResponseSize(380L);
        terminal.setResponseSha256("b".repeat(64));
        terminal.setResponseTruncated(Boolean.FALSE);
        terminal.setRawResponseSize(380L);
        terminal.setRawResponseSha256("c".repeat(64));
        terminal.setMaskingRuleSet("default");
        terminal.setMaskingExempt(Boolean.FALSE);
        terminal.setMaskingReport("{\"findings\":[],\"action\":\"mask\"}");
        attest.usage.UsageMeter meter = new attest.usage.UsageMeter();
        meter.report(new attest.usage.TokenUsage(9L, 9L, 18L, null, null));
        terminal.setUsage(meter);
        terminal.terminate(attest.evidence.Outcome.COMPLETED, Instant.parse("2026-11-30T10:15:29.004Z"));

        DefaultCamelContext context = new DefaultCamelContext();
        exchange = new DefaultExchange(context);
        exchange.setProperty(Exchanges.REQUEST_ID, "3f2a9c1e-bench");
        exchange.setProperty(Exchanges.EVIDENCE, terminal);
        AsyncProcessor nothing = new AsyncProcessorSupport() {
            @Override
            public boolean process(Exchange exchange, AsyncCallback callback) {
                callback.done(true);
                return true;
            }
        };
        CallLogContext interceptor = new CallLogContext();
        steps = new AsyncProcessor[STEPS];
        for (int i = 0; i < STEPS; i++) {
            steps[i] = (AsyncProcessor) interceptor.wrapProcessorInInterceptors(context, null, nothing, null);
        }
        outer = (AsyncProcessor) interceptor.wrapProcessorInInterceptors(context, null, new AsyncProcessorSupport() {
            @Override
            public boolean process(Exchange exchange, AsyncCallback callback) {
                logContext();
                callback.done(true);
                return true;
            }
        }, null);
    }

    static EvidenceRecord record() {
        EvidenceRecord r = new EvidenceRecord();
        r.setId(UUID.fromString("5b0c2a4e-3f1d-4c8a-9e2b-7d6f1a0b9c01"));
        r.setRequestId("3f2a9c1e-bench");
        r.setInstanceId("bench-host-8080");
        r.setState(EvidenceRecord.OPEN);
        r.setReceivedAt(Instant.parse("2026-11-30T10:15:29.000181Z"));
        r.setForwardedAt(Instant.parse("2026-11-30T10:15:29.000502Z"));
        r.setSourceAddress("127.0.0.1");
        r.setSubject("f1e2d3c4-0000-4000-8000-000000000001");
        r.setUsername("alice");
        r.setPrincipalType("user");
        r.setClientId("attest-cli");
        r.setRealmRoles(new String[]{"default-roles-attest", "llm-user", "offline_access", "uma_authorization"});
        r.setGroups(new String[]{"/research"});
        r.setTokenId("onrtac:7d5e7c1a-2b1f-4b7e-9d55-0c4f5b0b1a01");
        r.setIssuer("http://127.0.0.1:8180/realms/attest");
        r.setMethod("POST");
        r.setPath("/llm/v1/chat/completions");
        r.setUpstream("llm");
        r.setModel("demo-model");
        r.setStreamed(Boolean.FALSE);
        r.setDecision("allow");
        r.setRuleId("llm-users");
        r.setReason("role llm-user may call llm");
        r.setRulesVersion("9".repeat(64));
        r.setRequestSize(87L);
        r.setRequestSha256("a".repeat(64));
        r.setForwardedSha256("d".repeat(64));
        return r;
    }

    @Benchmark
    public Object evidenceViews() {
        long at = ++position;
        EvidenceChain.Entry o = ChainRecords.call(open, Instant.EPOCH).rendered().at(Instant.now());
        EvidenceChain.Entry t = ChainRecords.call(terminal, Instant.EPOCH).rendered().at(Instant.now());
        byte[] a = EvidenceChain.canonical("bench-host-8080", at, o);
        byte[] b = EvidenceChain.canonical("bench-host-8080", at + 1, t);
        return EvidenceEvents.terminal(terminal, "attest.evidence", Instant.now()).getPayload().length() + a.length
                + b.length;
    }

    @Benchmark
    public Exchange logContext() {
        for (AsyncProcessor s : steps) {
            s.process(exchange, done);
        }
        return exchange;
    }

    @Benchmark
    public Object stripHeaders() {
        return attest.upstream.CredentialStripper.strip(headers);
    }

    @Benchmark
    public Object usageRead() throws java.io.IOException {
        return attest.usage.TokenUsage.read(JSON, answer);
    }

    @Benchmark
    public Object usageTree() throws java.io.IOException {
        return attest.usage.TokenUsage.in(JSON.readTree(answer));
    }

    @Benchmark
    public Exchange logContextNested() {
        outer.process(exchange, done);
        return exchange;
    }

    @Benchmark
    public String mintRequestId() {
        return attest.ingress.RequestIds.mint();
    }

    @Benchmark
    public String randomUuid() {
        return UUID.randomUUID().toString();
    }

    @Benchmark
    public long mintEvidenceIds() {
        return attest.RandomIds.uuid().getLeastSignificantBits() ^ attest.RandomIds.uuid().getLeastSignificantBits();
    }

    @Benchmark
    public long randomEvidenceIds() {
        return UUID.randomUUID().getLeastSignificantBits() ^ UUID.randomUUID().getLeastSignificantBits();
    }

    @Benchmark
    public Object ruleLimit() {
        return new attest.usage.Limit("the policy rule's request limit", "llm-users", "rule:llm-users",
                attest.usage.Limit.REQUESTS, "minute", 600);
    }
}
