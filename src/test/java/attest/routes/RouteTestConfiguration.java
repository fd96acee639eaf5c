package attest.routes;

import attest.evidence.BeginEvidenceProcessor;
import attest.evidence.EvidenceAssembler;
import attest.evidence.RenderEvidenceUnavailableProcessor;
import attest.http.ResponseHeaderFilterStrategy;
import attest.identity.TestTokens;
import attest.identity.VerifyTokenProcessor;
import attest.ingress.AssignRequestIdProcessor;
import attest.ingress.CheckBodySizeProcessor;
import attest.ingress.ReadInboundRequestProcessor;
import attest.ingress.ResolveUpstreamProcessor;
import attest.ingress.Upstream;
import attest.ingress.UpstreamRegistry;
import attest.policy.DecidePolicyProcessor;
import attest.policy.PolicyEngine;
import attest.policy.PolicyFile;
import attest.policy.RateLimiter;
import attest.policy.ReadRequestFactsProcessor;
import attest.policy.RenderDenialProcessor;
import attest.response.FilterResponseHeadersProcessor;
import attest.response.RenderErrorProcessor;
import attest.rules.YamlTree;
import attest.upstream.InjectUpstreamCredentialProcessor;
import attest.upstream.RenderUpstreamResponseProcessor;
import attest.upstream.StaticSecretCredential;
import attest.upstream.StripCredentialsProcessor;
import org.apache.camel.CamelConfiguration;
import org.apache.camel.CamelContext;
import org.apache.camel.Processor;
import org.apache.camel.spi.Registry;

import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Executors;

/**
 * The real stage processors for the route tests, with a local token issuer and a test policy. The steps
 * that touch the outside world (the upstream call, the evidence store, Kafka, the control plane) are
 * bound as no-ops here and replaced by mocks through advice in each test.
 */
public class RouteTestConfiguration implements CamelConfiguration {
    public static final TestTokens TOKENS = new TestTokens();
    public static final String UPSTREAM_SECRET = "upstream-secret-for-route-tests";
    static final String POLICY = """
            rules:
              - id: deny-contractors
                decision: DENY
                reason: contractors may not call models
                match:
                  groups: [/contractors]
                  paths: ['**']
              - id: review-big-model
                decision: REVIEW
                reason: the big model needs approval
                match:
                  roles: [inference-user]
                  models: ['big-*']
              - id: chat
                decision: ALLOW
                reason: inference users may chat
                match:
                  roles: [inference-user]
                  upstreams: [llm]
                  methods: [POST]
                  paths: [/v1/chat/completions]
                limits:
                  requests-per-minute: 1000
                  max-tokens: 2048
                  default-max-tokens: 256
              - id: limited
                decision: ALLOW
                reason: the limited role has a small budget
                match:
                  roles: [limited-user]
                  paths: ['**']
                limits:
                  requests-per-minute: 2
            """;

    static final String RISK = """
            rules:
              - id: prompt-extraction
                reason: the prompt tries to extract the system prompt
                match:
                  prompt: {sets: [system-prompt-extraction]}
                approvers: {role: approver}
            """;

    @Override
    public void configure(CamelContext context) {
        Registry r = context.getRegistry();
        Clock clock = Clock.systemUTC();
        Processor noop = exchange -> { };
        UpstreamRegistry upstreams = new UpstreamRegistry(List.of(new Upstream("llm", "/llm",
                URI.create("http://127.0.0.1:9"), new StaticSecretCredential("Authorization", "Bearer", UPSTREAM_SECRET,
                "test"), Duration.ofSeconds(1), Duration.ofSeconds(1), Duration.ofSeconds(1))));
        r.bind("responseHeaderFilter", new ResponseHeaderFilterStrategy());
        // the pool of the data plane's blocking steps and the approval routes' threads step, as AttestConfiguration binds it
        r.bind(attest.AttestConfiguration.BLOCKING_POOL, attest.http.BlockingStep.pool(4, 100));
        attest.RoutePredicates.bindAll(r);
        r.bind("hardenedHttpServer", new attest.http.HardenedHttpServerInitializerFactory(1000, refusal -> { }));
        context.getCamelContextExtension().getContextPlugin(org.apache.camel.model.Model.class)
                .addModelLifecycleStrategy(new attest.evidence.KafkaRelayPolicy(false));
        r.bind("readInboundRequestProcessor", new ReadInboundRequestProcessor(clock));
        r.bind("assignRequestIdProcessor", new AssignRequestIdProcessor());
        r.bind("beginEvidenceProcessor", new BeginEvidenceProcessor(new EvidenceAssembler("route-test")));
        r.bind("checkBodySizeProcessor", new CheckBodySizeProcessor(1000));
        r.bind("checkDrainingProcessor", (org.apache.camel.Processor) exchange -> { });
        r.bind("verifyTokenProcessor", new VerifyTokenProcessor(TOKENS.validator(clock)));
        r.bind("resolveUpstreamProcessor", new ResolveUpstreamProcessor(upstreams));
        r.bind("readCredentialProcessor", new attest.identity.ReadCredentialProcessor());
        r.bind("refuseCredentialProcessor", new attest.identity.RefuseCredentialProcessor());
        r.bind("narrowToKeyScopeProcessor", new attest.policy.NarrowToKeyScopeProcessor());
        r.bind("askForUsageProcessor", new attest.usage.AskForUsageProcessor(Set.of()));
        r.bind("readUsageProcessor", new attest.usage.ReadUsageProcessor());
        PolicyEngine policy = new PolicyEngine(PolicyFile.parse(YamlTree.parse("test-policy.yaml", POLICY),
                Set.of("llm")), RateLimiter.inMemory(clock));
        r.bind("decodeRequestBodyProcessor", new attest.policy.DecodeRequestBodyProcessor(
                new attest.policy.RequestBodyDecoder(1000)));
        r.bind("readRequestFactsProcessor", new ReadRequestFactsProcessor(new attest.policy.BodyFormats(
                java.util.Map.of("llm", List.of("text/csv")))));
        r.bind("decidePolicyProcessor", new DecidePolicyProcessor(policy));
        r.bind("applyTokenCeilingProcessor", new attest.policy.ApplyTokenCeilingProcessor(policy));
        r.bind("renderDenialProcessor", new RenderDenialProcessor());
        var denials = new attest.policy.DenialLimiter(20, 60_000, 1_000);
        r.bind("denialLimiter", denials);
        r.bind("countDenialProcessor", new attest.policy.CountDenialProcessor(denials, java.time.Clock.systemUTC()));
        r.bind("approvalAggregationRepository", new org.apache.camel.processor.aggregate.MemoryAggregationRepository(true));
        r.bind("approvalTallyStrategy", new attest.approval.ApprovalTallyStrategy());
        r.bind("keepOriginalStrategy", new attest.approval.KeepOriginalStrategy());
        r.bind("controlHeaderFilter", new ResponseHeaderFilterStrategy(
                attest.http.ResponseHeaders::allowedOnControlPlane));
        r.bind("filterControlHeadersProcessor", new FilterResponseHeadersProcessor(
                attest.http.ResponseHeaders::allowedOnControlPlane)); // as AttestConfiguration binds them
        r.bind("assessRiskProcessor", new attest.approval.AssessRiskProcessor(new attest.approval.RiskEngine(
                attest.approval.RiskRulesFile.parse(YamlTree.parse("risk.yaml", RISK)), clock)));
        r.bind("stripCredentialsProcessor", new StripCredentialsProcessor());
        r.bind("injectUpstreamCredentialProcessor", new InjectUpstreamCredentialProcessor("X-Attest-Subject"));
        r.bind("renderUpstreamResponseProcessor", new RenderUpstreamResponseProcessor(
                Executors.newSingleThreadScheduledExecutor()));
        r.bind("renderEvidenceUnavailableProcessor", new RenderEvidenceUnavailableProcessor());
        r.bind("renderErrorProcessor", new RenderErrorProcessor());
        r.bind("checkMethodProcessor", new attest.control.CheckMethodProcessor(attest.http.ServedMethods.controlPlane()));
        r.bind("recordRefusalProcessor", new attest.control.RecordRefusalProcessor(refusal -> { }));
        r.bind("filterResponseHeadersProcessor", new FilterResponseHeadersProcessor());
        for (String name : List.of("maskRequestProcessor", "maskResponseProcessor", "callUpstreamProcessor", "openEvidenceProcessor", "recordEvidenceProcessor",
                "claimOutboxBatchProcessor", "markOutboxPublishedProcessor", "releaseOutboxClaimProcessor",
                "checkHealthProcessor", "renderMetricsProcessor", "signCheckpointProcessor", "closeDeadInstancesProcessor", "renderOpenApiProcessor",
                "checkAuditorProcessor", "checkAuditReadPathProcessor",
                "readAuditQueryProcessor", "renderAuditReportProcessor", "readEvidencePayloadProcessor",
                "applyRetentionProcessor", "flushRefusalSummariesProcessor", "readAuditRecordPathProcessor", "viewReplayProcessor", "runReplayProcessor", "holdCallProcessor",
                "prepareApprovalSignalProcessor", "awaitApprovalProcessor", "deliverHeldCallProcessor",
                "resolveApprovalProcessor", "claimApprovedCallProcessor", "restoreHeldCallProcessor",
                "storeApprovalResultProcessor", "closeHeldCallProcessor", "readApprovalPathProcessor",
                "findRequesterApprovalProcessor", "findApproverApprovalProcessor", "cancelHeldCallProcessor",
                "renderApprovalNotFoundProcessor", "listApprovalsProcessor", "renderApprovalProcessor",
                "readDecisionJsonProcessor", "decideApprovalProcessor", "renderDecisionProcessor",
                "readApprovalSessionProcessor", "startApprovalLoginProcessor", "completeApprovalLoginProcessor",
                "checkApprovalFormProcessor", "renderApprovalPageProcessor", "findApproversProcessor",
                "renderApprovalEmailProcessor", "recordNotifiedProcessor", "allotApprovalEmailsProcessor", "takeApprovalDigestsProcessor",
                "renderApprovalDigestEmailProcessor", "checkChainedDigestProcessor", "flushSelfRefusalsProcessor",
                "readProofPathProcessor", "renderEvidenceProofProcessor", "checkLivenessProcessor",
                "checkReadinessProcessor", "checkRulesAdminProcessor", "reloadRulesProcessor", "verifyKeyProcessor",
                "admitUsageProcessor", "settleUsageProcessor", "readKeyPathProcessor", "createKeyProcessor",
                "listKeysProcessor", "revokeKeyProcessor", "recordKeyExpiriesProcessor", "refreshKeyOwnersProcessor",
                "pruneUsageCountersProcessor", "readUsageQueryProcessor", "renderUsageReportProcessor")) {
            r.bind(name, noop);
        }
        r.bind("ruleReloader", new NoReload());
    }

    /** The rules-watch route's bean: route tests do not reload rules. */
    public static final class NoReload {
        public void checkFiles() {
            // nothing to watch
        }
    }
}
