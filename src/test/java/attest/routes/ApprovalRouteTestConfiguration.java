package attest.routes;

import attest.AttestConfiguration;
import attest.Settings;
import attest.approval.ApprovalStore;
import attest.approval.RiskRulesFile;
import attest.evidence.BeginEvidenceProcessor;
import attest.evidence.Database;
import attest.evidence.EvidenceAssembler;
import attest.evidence.EvidenceWriter;
import attest.evidence.OpenEvidenceProcessor;
import attest.evidence.RecordEvidenceProcessor;
import attest.http.GatewayException;
import attest.ingress.Upstream;
import attest.ingress.UpstreamRegistry;
import attest.masking.MaskingService;
import attest.rules.YamlTree;
import attest.upstream.StaticSecretCredential;
import org.apache.camel.CamelConfiguration;
import org.apache.camel.CamelContext;
import org.apache.camel.spi.Registry;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The route-test wiring (RouteTestConfiguration) plus the real approval stage and evidence store, on an
 * embedded PostgreSQL shared by the tests of a run: held calls, the JDBC aggregation repository, decisions
 * and evidence are real; only the upstream call is a mock (advice in each test class).
 */
public class ApprovalRouteTestConfiguration implements CamelConfiguration {
    /** When set, opening evidence before forwarding fails as if the store were down. */
    public static final AtomicBoolean STORE_DOWN = new AtomicBoolean();
    static Database db;
    static ApprovalStore store;

    static final String RISK = """
            rules:
              - id: prompt-extraction
                reason: the prompt tries to extract the system prompt
                match:
                  prompt: {sets: [system-prompt-extraction]}
                approvers: {role: approver}
              - id: two-approvers
                reason: needs two approvers
                match:
                  prompt: {patterns: ['NEEDS-TWO']}
                approvers: {role: approver}
                approvals-required: 2
              - id: short-ttl
                reason: expires fast
                match:
                  prompt: {patterns: ['EXPIRES-FAST']}
                approvers: {role: approver}
                ttl: PT1S
            """;

    static synchronized Database database() {
        if (db == null) {
            try {
                db = Database.open("", "", "", Files.createTempDirectory("attest-route-pg"), 0, 8,
                        Duration.ofSeconds(2));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            Runtime.getRuntime().addShutdownHook(new Thread(db::close));
        }
        return db;
    }

    @Override
    public void configure(CamelContext context) {
        new RouteTestConfiguration().configure(context);
        Registry r = context.getRegistry();
        // the no-ops bound above are replaced by the real beans (a second bind would only add a candidate)
        for (String name : List.of("beginEvidenceProcessor", "openEvidenceProcessor", "recordEvidenceProcessor",
                "assessRiskProcessor", "approvalAggregationRepository", "approvalTallyStrategy", "keepOriginalStrategy",
                "holdCallProcessor", "prepareApprovalSignalProcessor", "awaitApprovalProcessor",
                "deliverHeldCallProcessor", "resolveApprovalProcessor", "claimApprovedCallProcessor",
                "restoreHeldCallProcessor", "storeApprovalResultProcessor", "closeHeldCallProcessor",
                "readApprovalPathProcessor", "findRequesterApprovalProcessor", "findApproverApprovalProcessor",
                "cancelHeldCallProcessor", "renderApprovalNotFoundProcessor", "listApprovalsProcessor",
                "renderApprovalProcessor", "readDecisionJsonProcessor", "decideApprovalProcessor",
                "renderDecisionProcessor", "readApprovalSessionProcessor", "startApprovalLoginProcessor",
                "completeApprovalLoginProcessor", "checkApprovalFormProcessor", "renderApprovalPageProcessor",
                "findApproversProcessor", "renderApprovalEmailProcessor", "recordNotifiedProcessor", "allotApprovalEmailsProcessor", "takeApprovalDigestsProcessor",
                "renderApprovalDigestEmailProcessor", "checkChainedDigestProcessor", "flushSelfRefusalsProcessor")) {
            r.unbind(name);
        }
        Clock clock = Clock.systemUTC();
        Database database = database();
        EvidenceWriter writer = new EvidenceWriter(database.sessionFactory(),
                new attest.evidence.chain.EvidenceChain("route-test"), 1000, 64, Duration.ZERO,
                Duration.ofSeconds(5));
        EvidenceAssembler assembler = new EvidenceAssembler("route-test");
        OpenEvidenceProcessor open = new OpenEvidenceProcessor(assembler, writer, clock);
        r.bind("beginEvidenceProcessor", new BeginEvidenceProcessor(assembler));
        r.bind("openEvidenceProcessor", (org.apache.camel.Processor) e -> {
            if (STORE_DOWN.get()) {
                throw GatewayException.evidenceUnavailable();
            }
            open.process(e);
        });
        r.bind("recordEvidenceProcessor", new RecordEvidenceProcessor(assembler, writer, "t", clock));
        var rules = RiskRulesFile.parse(YamlTree.parse("risk.yaml", RISK));
        r.bind("assessRiskProcessor", new attest.approval.AssessRiskProcessor(new attest.approval.RiskEngine(rules,
                clock)));
        UpstreamRegistry upstreams = new UpstreamRegistry(List.of(new Upstream("llm", "/llm",
                URI.create("http://127.0.0.1:9"), new StaticSecretCredential("Authorization", "Bearer",
                RouteTestConfiguration.UPSTREAM_SECRET, "test"), Duration.ofSeconds(1), Duration.ofSeconds(1),
                Duration.ofSeconds(1))));
        Map<String, String> settings = Map.of("attest.approval.window-ms", "2000", "attest.approval.poll-ms", "100",
                "attest.approval.recovery-interval-ms", "500", "attest.control.host", "127.0.0.1",
                "attest.control.port", "8081", "attest.approval.self-refusals-per-window", "3",
                "attest.approval.self-refusal-window-ms", "6000");
        AttestConfiguration.bindApprovals(new Settings(k -> Optional.ofNullable(settings.get(k))), r, database,
                writer, assembler, upstreams, () -> rules, new MaskingService(List.of(), Duration.ofMillis(250)),
                RouteTestConfiguration.TOKENS.validator(clock), attest.identity.TestTokens.ISSUER, "t", "route-test",
                clock, null, stop -> { });
        store = r.lookupByNameAndType("approvalStore", ApprovalStore.class);
    }
}
