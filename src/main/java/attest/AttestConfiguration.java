package attest;

import attest.control.CheckHealthProcessor;
import attest.control.RenderMetricsProcessor;
import attest.evidence.BeginEvidenceProcessor;
import attest.evidence.Database;
import attest.evidence.EvidenceAssembler;
import attest.evidence.EvidenceWriter;
import attest.evidence.OpenEvidenceProcessor;
import attest.evidence.Outbox;
import attest.evidence.RecordEvidenceProcessor;
import attest.evidence.RenderEvidenceUnavailableProcessor;
import attest.http.ResponseHeaderFilterStrategy;
import attest.identity.RealmKeys;
import attest.identity.TokenValidator;
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
import attest.policy.ReadRequestFactsProcessor;
import attest.policy.RenderDenialProcessor;
import attest.relay.ClaimOutboxBatchProcessor;
import attest.relay.MarkOutboxPublishedProcessor;
import attest.relay.ReleaseOutboxClaimProcessor;
import attest.response.FilterResponseHeadersProcessor;
import attest.response.RenderErrorProcessor;
import attest.upstream.CallUpstreamProcessor;
import attest.upstream.InjectUpstreamCredentialProcessor;
import attest.upstream.RenderUpstreamResponseProcessor;
import attest.upstream.StripCredentialsProcessor;
import attest.upstream.UpstreamClient;
import attest.upstream.UpstreamCredentials;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.apache.camel.CamelConfiguration;
import org.apache.camel.CamelContext;
import org.apache.camel.spi.Registry;
import org.apache.camel.support.service.ServiceSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.stream.Collectors;

/**
 * The one place where Attest is wired: reads the {@code attest.*} settings (see application.properties),
 * builds each stage's engine and binds every processor the YAML routes name. Anything wrong in the
 * configuration or the rule files stops the start with a message that says what and where.
 */
public class AttestConfiguration implements CamelConfiguration {
    private static final Logger LOG = LoggerFactory.getLogger(AttestConfiguration.class);

    @Override
    public void configure(CamelContext context) {
        Settings s = new Settings(key -> context.getPropertiesComponent().resolveProperty(key));
        Registry registry = context.getRegistry();
        Clock clock = Clock.systemUTC();
        Closer closer = new Closer();
        PrometheusMeterRegistry metrics = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        // every log line of a call carries its request id, record id, upstream and outcome (JSON logs, ECS)
        context.getCamelContextExtension().addInterceptStrategy(new attest.ops.CallLogContext());
        String instanceId = instanceId(s);

        // tracing (issue #14): a span per call and per stage, the caller's traceparent continued to the upstream;
        // OTLP export only when an endpoint is set
        var tracing = new attest.ops.Tracing(s.string("attest.tracing.service-name", "attest"), instanceId,
                Double.parseDouble(s.string("attest.tracing.sample-ratio", "1.0")),
                s.string("attest.tracing.otlp-endpoint", ""), s.millis("attest.tracing.export-timeout-ms", 10_000),
                registry.lookupByNameAndType("attestSpanExporter", io.opentelemetry.sdk.trace.export.SpanExporter.class));
        closer.add(tracing::close);
        if (s.bool("attest.tracing.enabled", true)) {
            context.getCamelContextExtension().addInterceptStrategy(new attest.ops.StageTracing(tracing));
        }
        if (!s.string("attest.tracing.otlp-endpoint", "").isBlank()) {
            LOG.info("tracing: spans exported over OTLP/HTTP");
        }

        // ingress
        UpstreamRegistry upstreams = UpstreamRegistry.fromSettings(s, UpstreamCredentials.fromSystem());
        for (Upstream u : upstreams.all()) {
            LOG.info("upstream {}: {} -> {} (credential: {})", u.name(), u.prefix(), u.baseUri(),
                    u.credential().describe());
        }
        var netty = new attest.http.HardenedNettyHttpComponent();
        registry.bind("netty-http", netty);
        // the data plane's steps run on the connection's event loop (attest.data.route-executor=false): the few
        // that may block (budgets counted in the store, a key's lookup: BlockingStep) and the approval routes (their
        // threads step) run on this pool instead
        var blocking = attest.http.BlockingStep.pool(s.integer("attest.data.blocking-threads", 16),
                s.integer("attest.data.blocking-queue", 1000));
        registry.bind(BLOCKING_POOL, blocking);
        closer.add(blocking::shutdownNow);
        attest.RoutePredicates.bindAll(registry);
        registry.bind("responseHeaderFilter", new ResponseHeaderFilterStrategy());
        registry.bind("readInboundRequestProcessor", new ReadInboundRequestProcessor(clock));
        registry.bind("assignRequestIdProcessor", new AssignRequestIdProcessor());
        registry.bind("resolveUpstreamProcessor", new ResolveUpstreamProcessor(upstreams));
        registry.bind("checkBodySizeProcessor", new CheckBodySizeProcessor(s.longValue("attest.data.max-body-bytes",
                1_048_576)));

        // identity
        String issuer = s.required("attest.identity.issuer");
        java.util.Set<String> deniedClients = new java.util.TreeSet<>(java.util.Arrays.stream(
                s.string("attest.identity.denied-clients", "").split(",")).map(String::trim)
                .filter(c -> !c.isEmpty()).toList());
        // the gateway's own admin service account is never a caller, whatever the list says
        deniedClients.add(s.string("attest.approval.admin.client-id", "attest-gateway"));
        // the realm's keys are fetched here, once, before serving; afterwards only in the background (RealmKeys)
        String jwksUrl = s.string("attest.identity.jwks-url", issuer + "/protocol/openid-connect/certs");
        RealmKeys realmKeys = RealmKeys.fromJwksUri(jwksUrl,
                s.millis("attest.identity.jwks-cache-ms", 300_000),
                s.millis("attest.identity.jwks-refresh-cooldown-ms", 10_000),
                s.millis("attest.identity.jwks-timeout-ms", 3_000),
                s.millis("attest.identity.jwks-max-stale-ms", 3_600_000), clock);
        if (!realmKeys.prime()) {
            LOG.warn("identity: the realm's signing keys could not be fetched from {} at start-up; calls are refused "
                    + "(503) until a background fetch succeeds", jwksUrl);
        }
        TokenValidator validator = new TokenValidator(realmKeys,
                issuer, s.required("attest.identity.audience"), s.millis("attest.identity.clock-skew-ms", 30_000),
                clock, s.millis("attest.identity.token-cache-ms", 60_000), deniedClients);
        LOG.info("identity: tokens of {} are never accepted as a caller's", deniedClients);
        registry.bind("verifyTokenProcessor", new VerifyTokenProcessor(validator));

        // policy
        Path policyFile = Path.of(s.required("attest.policy.file"));
        Set<String> upstreamNames = upstreams.all().stream().map(Upstream::name).collect(Collectors.toSet());
        // a rule's requests-per-minute is counted in PostgreSQL, shared by every replica (bound once the store opens)
        var usageCounters = new java.util.concurrent.atomic.AtomicReference<attest.usage.UsageCounters>();
        PolicyEngine policy = new PolicyEngine(PolicyFile.load(policyFile, upstreamNames),
                new attest.usage.SharedRateLimiter(usageCounters::get));
        LOG.info("policy {}: {} rules", policyFile, policy.rules().size());
        java.util.Map<String, java.util.List<String>> accepted = new java.util.HashMap<>();
        for (Upstream u : upstreams.all()) {
            s.optional("attest.upstream." + u.name() + ".accepted-content-types").ifPresent(v ->
                    accepted.put(u.name(), java.util.Arrays.stream(v.split(",")).map(String::trim)
                            .filter(t -> !t.isEmpty()).toList()));
        }
        registry.bind("decodeRequestBodyProcessor", new attest.policy.DecodeRequestBodyProcessor(
                new attest.policy.RequestBodyDecoder(s.longValue("attest.data.max-body-bytes", 1_048_576))));
        registry.bind("readRequestFactsProcessor", new ReadRequestFactsProcessor(new attest.policy.BodyFormats(accepted)));
        // a rule's requests-per-minute is counted in PostgreSQL (SharedRateLimiter): that call decides off the loop
        var decidePolicy = new DecidePolicyProcessor(policy);
        registry.bind("decidePolicyProcessor", blocking(registry, decidePolicy, decidePolicy::blocks));
        registry.bind("applyTokenCeilingProcessor", new attest.policy.ApplyTokenCeilingProcessor(policy));
        registry.bind("renderDenialProcessor", new RenderDenialProcessor());
        var denials = new attest.policy.DenialLimiter(s.integer("attest.policy.denials-per-caller", 20),
                s.millis("attest.policy.denial-window-ms", 60_000).toMillis(), s.integer("attest.policy.denial-callers-tracked",
                100_000));
        registry.bind("denialLimiter", denials);
        registry.bind("countDenialProcessor", new attest.policy.CountDenialProcessor(denials, clock));
        Path riskDir = Path.of(s.string("attest.approval.rules-dir", "approval-flow"));
        var riskRules = attest.approval.RiskRulesFile.loadDirectory(riskDir);
        LOG.info("risk rules {}: {} rules", riskDir, riskRules.size());
        var riskEngine = new attest.approval.RiskEngine(riskRules, clock);
        registry.bind("assessRiskProcessor", new attest.approval.AssessRiskProcessor(riskEngine));
        registry.bind("controlHeaderFilter", new ResponseHeaderFilterStrategy(
                attest.http.ResponseHeaders::allowedOnControlPlane));
        registry.bind("filterControlHeadersProcessor", new FilterResponseHeadersProcessor(
                attest.http.ResponseHeaders::allowedOnControlPlane));

        // upstream (credential brokering and the call)
        ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "attest-stream-watch");
            t.setDaemon(true);
            return t;
        });
        closer.add(scheduler::shutdownNow);
        int capture = s.integer("attest.evidence.max-captured-response-bytes", 1_048_576);
        registry.bind("stripCredentialsProcessor", new StripCredentialsProcessor());
        // a short-lived upstream token is refreshed in the background; a call with none usable waits off the loop
        var injectCredential = new InjectUpstreamCredentialProcessor(s.string("attest.upstream.identity-header",
                "X-Attest-Subject"));
        registry.bind("injectUpstreamCredentialProcessor", blocking(registry, injectCredential,
                injectCredential::blocks));
        // a call's route goes on on its caller's channel thread when the answer arrives; a held call executed after
        // approval has no caller channel and goes on on one of these few threads
        java.util.concurrent.ThreadPoolExecutor continuations = new java.util.concurrent.ThreadPoolExecutor(4, 4,
                30, java.util.concurrent.TimeUnit.SECONDS, new java.util.concurrent.LinkedBlockingQueue<>(), r -> {
                    Thread t = new Thread(r, "attest-upstream-continuation");
                    t.setDaemon(true);
                    return t;
                });
        continuations.allowCoreThreadTimeOut(true);
        closer.add(continuations::shutdown);
        UpstreamClient upstreamClient = new UpstreamClient(clock, capture,
                s.integer("attest.upstream.max-decoded-bytes", 33_554_432),
                UpstreamClient.Kind.parse(s.string("attest.upstream.client", "netty")),
                s.integer("attest.upstream.idle-keep-ms", (int) UpstreamClient.DEFAULT_IDLE_KEEP_MS));
        closer.add(upstreamClient::close);
        LOG.info("upstream client: {}", upstreamClient.kind().name().toLowerCase(java.util.Locale.ROOT));
        registry.bind("callUpstreamProcessor", new CallUpstreamProcessor(upstreamClient, continuations));
        var inFlightStreams = new attest.ops.InFlightStreams();
        registry.bind("renderUpstreamResponseProcessor", new RenderUpstreamResponseProcessor(scheduler,
                inFlightStreams));

        // masking
        byte[] hmacKey = maskingKey(s);
        Path maskingDir = Path.of(s.string("attest.masking.rules-dir", "masking-rules"));
        var maskingRules = attest.masking.MaskingRulesFile.loadDirectory(maskingDir, hmacKey);
        var masking = new attest.masking.MaskingService(maskingRules, s.millis("attest.masking.time-budget-ms", 250),
                s.integer("attest.masking.max-held-bytes", attest.masking.Masker.DEFAULT_STREAM_LIMIT));
        LOG.info("masking rules {}: {} rule sets", maskingDir, maskingRules.size());
        registry.bind("maskRequestProcessor", new attest.masking.MaskRequestProcessor(masking));
        registry.bind("maskResponseProcessor", new attest.masking.MaskResponseProcessor(masking));

        // evidence
        Database db = Database.open(s.string("attest.db.url", ""), s.string("attest.db.user", ""),
                s.string("attest.db.password", ""), s.string("attest.db.app-user", ""),
                s.string("attest.db.app-password", ""), Path.of(s.string("attest.db.embedded.data-dir", ".attest/pgdata")),
                s.integer("attest.db.embedded.port", 0), s.integer("attest.db.pool-size", 8),
                s.millis("attest.db.connect-timeout-ms", 1000), optionalSecret(s, "attest.db.auditor-password").orElse(""));
        closer.add(db::close);
        // evidence completeness (issue #11): the chain is registered and signed at start, heartbeats every T, and a
        // final checkpoint when the instance stops (after the writer has drained: closed in reverse order)
        var signer = attest.evidence.chain.KeyFileSigner.load(Path.of(s.string("attest.evidence.signing-key-file",
                ".attest/evidence-signing.key")), s.bool("attest.evidence.signing-key-generate", true));
        LOG.info("evidence chain {}: checkpoints signed with Ed25519 key {}", instanceId, signer.keyId());
        var checkpoints = new attest.evidence.chain.Checkpoints(db.dataSource(), instanceId, signer,
                s.longValue("attest.evidence.checkpoint-every-records", 1000),
                s.millis("attest.evidence.checkpoint-every-ms", 10_000), s.string("attest.kafka.topic",
                "attest.evidence.v1"), clock);
        // dead replicas are closed by survivors (docs/evidence-format.md section 4.5): this instance's lease is
        // renewed before its chain starts and given up after its final checkpoint
        var lease = new attest.evidence.InstanceLease(db.dataSource(), instanceId,
                s.millis("attest.evidence.instance-lease-ms", 30_000));
        long renewMs = s.millis("attest.evidence.lease-renew-ms", 5_000).toMillis();
        if (renewMs <= 0 || renewMs * 3 > lease.lease().toMillis()) {
            throw new IllegalStateException("attest.evidence.lease-renew-ms (" + renewMs + ") must be positive and at "
                    + "most a third of attest.evidence.instance-lease-ms (" + lease.lease().toMillis() + ")");
        }
        lease.renew();
        closer.add(lease::release);
        checkpoints.start();
        lease.startRenewing(java.time.Duration.ofMillis(renewMs), checkpoints::start);
        closer.add(checkpoints::stop);
        EvidenceWriter writer = new EvidenceWriter(db.sessionFactory(),
                new attest.evidence.chain.EvidenceChain(instanceId), s.integer("attest.evidence.queue-capacity", 10_000),
                s.integer("attest.evidence.max-batch", 256), s.millis("attest.evidence.linger-ms", 0),
                s.millis("attest.evidence.commit-timeout-ms", 5_000), s.integer("attest.evidence.refusal-queue-capacity",
                        2_000), s.integer("attest.evidence.refusals-per-batch", 64));
        closer.add(writer::close);
        attest.evidence.crypto.MasterKey master = s.optional("attest.evidence.master-key-env")
                .map(System::getenv).filter(v -> !v.isBlank()).map(attest.evidence.crypto.MasterKey::fromBase64)
                .orElseGet(() -> attest.evidence.crypto.MasterKey.fromFile(Path.of(s.string(
                        "attest.evidence.master-key-file", ".attest/evidence-master.key")),
                        s.bool("attest.evidence.master-key-generate", true)));
        // raw-answer digests in Kafka events are keyed (schema attest.evidence v2)
        attest.evidence.EvidenceEvents.keyDigestsWith(master.derive(attest.evidence.EvidenceEvents.DIGEST_KEY_LABEL));
        var payloadCipher = new attest.evidence.crypto.PayloadCipher(db.dataSource(), master,
                s.millis("attest.evidence.data-key-period-ms", 86_400_000), clock);
        writer.encryptWith(payloadCipher);
        var previousMaster = s.optional("attest.evidence.master-key-previous-file");
        if (previousMaster.isPresent()) {
            int n = payloadCipher.rewrap(attest.evidence.crypto.MasterKey.fromFile(Path.of(previousMaster.get()), false));
            LOG.info("master key rotation: {} data keys re-wrapped with master key {}", n, master.id());
        }
        var stale = new java.util.TreeSet<>(payloadCipher.masterKeysInUse());
        stale.remove(master.id());
        if (!stale.isEmpty()) {
            throw new IllegalStateException("data keys are wrapped by master key(s) " + stale + ", not by the configured "
                    + "one (" + master.id() + "): set attest.evidence.master-key-previous-file to rotate");
        }
        LOG.info("evidence payloads encrypted (AES-256-GCM, data key per period, master key {})", master.id());
        String topic0 = s.string("attest.kafka.topic", "attest.evidence.v1");
        attest.evidence.CrashRecovery.run(db.dataSource(), writer, instanceId, topic0, clock);
        EvidenceAssembler assembler = new EvidenceAssembler(instanceId,
                s.integer("attest.evidence.denied-body-bytes", EvidenceAssembler.DENIED_BODY_BYTES));
        String topic = s.string("attest.kafka.topic", "attest.evidence.v1");
        registry.bind("attestDatabase", db);
        registry.bind("evidenceWriter", writer);
        registry.bind("beginEvidenceProcessor", new BeginEvidenceProcessor(assembler));
        registry.bind("openEvidenceProcessor", new OpenEvidenceProcessor(assembler, writer, clock));
        registry.bind("recordEvidenceProcessor", new RecordEvidenceProcessor(assembler, writer, topic, clock,
                new attest.ops.CallMetrics(metrics, modelNameIsPlain(masking))));
        registry.bind("renderEvidenceUnavailableProcessor", new RenderEvidenceUnavailableProcessor());
        registry.bind("signCheckpointProcessor", new attest.evidence.SignCheckpointProcessor(checkpoints));
        registry.bind("closeDeadInstancesProcessor", new attest.evidence.CloseDeadInstancesProcessor(
                new attest.evidence.DeadInstanceCloser(db.dataSource(), lease,
                        new attest.evidence.chain.EvidenceChain(instanceId), writer, topic, clock)));

        // virtual keys and usage (issue #13): keys, owners and counters in PostgreSQL, shared by every replica
        usageCounters.set(new attest.usage.UsageCounters(db.dataSource(), clock));
        var keyResolver = bindKeys(s, registry, db, policy, upstreamNames, issuer, instanceId, topic, usageCounters.get(),
                clock, closer);

        // floods and exhaustion (docs/security.md): refusals are recorded without bodies, counted past a threshold
        // per source, in the writer's refusal lane; connection caps and idle timeout on both planes; on the data
        // plane a request without a valid token is refused on its headers and bodies are buffered within a budget
        var refusals = new attest.evidence.RefusalRecorder(assembler, writer, new attest.evidence.RefusalLimiter(
                s.integer("attest.evidence.refusals-per-source", 20), s.millis("attest.evidence.refusal-window-ms", 60_000),
                s.integer("attest.evidence.refusal-sources-tracked", 10_000),
                s.longValue("attest.evidence.refusals-recorded-per-window", 1_000)), instanceId, topic, clock);
        closer.add(refusals::close);
        registry.bind("refusalRecorder", refusals);
        registry.bind("flushRefusalSummariesProcessor", new attest.evidence.FlushRefusalSummariesProcessor(refusals));
        // the control plane's routes: a method a path does not serve is 405 with its Allow (the OpenAPI document's
        // methods), recorded as the door's refusals are
        registry.bind("checkMethodProcessor", new attest.control.CheckMethodProcessor(
                attest.http.ServedMethods.controlPlane()));
        registry.bind("recordRefusalProcessor", new attest.control.RecordRefusalProcessor(refusals));
        long idleMs = s.longValue("attest.http.idle-timeout-ms", 60_000);
        var dataConnections = new attest.http.ConnectionLimits(s.integer("attest.http.max-connections", 4096),
                s.integer("attest.http.max-connections-per-source", 256));
        var controlConnections = new attest.http.ConnectionLimits(s.integer("attest.http.max-connections", 4096),
                s.integer("attest.http.max-connections-per-source", 256));
        var requestBudget = new attest.http.RequestBudget(s.longValue("attest.data.request-buffer-budget-bytes",
                268_435_456));
        registry.bind("dataConnectionLimits", dataConnections);
        registry.bind("controlConnectionLimits", controlConnections);
        registry.bind("requestBudget", requestBudget);
        netty.guard(s.integer("attest.data.port", 8080), new attest.http.ChannelGuards(dataConnections, idleMs, refusals)
                .withEarlyAuth(validator, s.longValue("attest.data.unauthenticated-body-read-bytes", 16_384))
                .withKeys(attest.http.KeyCheck.offLoop(keyResolver::check, keyResolver::checkBlocks, blocking))
                .withDenials(denials, clock)
                .withBudget(requestBudget, s.longValue("attest.data.max-body-hard-bytes", 4_194_304)));
        // on the control plane, a request with a body needs a valid token on its headers, except the approval
        // page's small form POST (its session cookie is checked by the route)
        long smallBody = s.longValue("attest.data.unauthenticated-body-read-bytes", 16_384);
        netty.guard(s.integer("attest.control.port", 8081), new attest.http.ChannelGuards(controlConnections, idleMs,
                refusals).withEarlyAuth(validator, smallBody, attest.http.ControlPlaneBodies.exempt(
                        attest.http.ControlPlaneBodies.PAGE_FORM, smallBody)));
        // the hardened HTTP server of the data plane; what it refuses is recorded too
        registry.bind("hardenedHttpServer", new attest.http.HardenedHttpServerInitializerFactory(
                s.longValue("attest.data.request-timeout-ms", 30_000),
                refusal -> refusals.accept(refusal.toRefusedRequest())));

        // relay to Kafka
        Outbox outbox = new Outbox(db.sessionFactory(), s.millis("attest.kafka.relay-lease-ms", 30_000));
        registry.bind("evidenceOutbox", outbox);
        registry.bind("claimOutboxBatchProcessor", new ClaimOutboxBatchProcessor(outbox,
                s.integer("attest.kafka.relay-batch", 500)));
        registry.bind("markOutboxPublishedProcessor", new MarkOutboxPublishedProcessor());
        registry.bind("releaseOutboxClaimProcessor", new ReleaseOutboxClaimProcessor());
        boolean kafka = s.optional("attest.kafka.brokers").isPresent() && s.bool("attest.kafka.enabled", true);
        context.getCamelContextExtension().getContextPlugin(org.apache.camel.model.Model.class)
                .addModelLifecycleStrategy(new attest.evidence.KafkaRelayPolicy(kafka));
        // the relay endpoint reads this internal key: the brokers, or an unused address when the relay is off
        // (Camel warms up the producers of routes that do not start, so the endpoint must always be valid)
        context.getPropertiesComponent().addOverrideProperty("attest.kafka.relay-brokers",
                kafka ? s.required("attest.kafka.brokers") : "127.0.0.1:9");
        if (!kafka) {
            LOG.info("Kafka relay off (no brokers configured, or attest.kafka.enabled=false): events wait in the outbox");
        }

        // just-in-time approval (after evidence: it shares the store)
        bindApprovals(s, registry, db, writer, assembler, upstreams, riskEngine::rules, masking, validator, issuer, topic,
                instanceId, clock, payloadCipher, closer::add);

        // retention
        java.util.Map<String, java.time.Duration> retentionPerUpstream = new java.util.HashMap<>();
        for (Upstream u : upstreams.all()) {
            s.optional("attest.upstream." + u.name() + ".retention-ms").ifPresent(v ->
                    retentionPerUpstream.put(u.name(), java.time.Duration.ofMillis(Long.parseLong(v))));
        }
        registry.bind("applyRetentionProcessor", new attest.evidence.ApplyRetentionProcessor(new attest.evidence.Retention(
                db.dataSource(), s.millis("attest.evidence.retention-ms", 0), retentionPerUpstream,
                s.millis("attest.evidence.data-key-period-ms", 86_400_000),
                s.millis("attest.kafka.outbox-keep-ms", 604_800_000), clock)
                .signInsKeptAtMost(s.millis("attest.approval.page.login-ttl-ms", 600_000))));

        // reports for auditors
        registry.bind("checkAuditorProcessor", new attest.audit.CheckAuditorProcessor(s.string("attest.audit.role",
                "auditor")));
        // the reports' read path, as verify checks it (ReadPath): checked now, then per check-ms or catalog change;
        // the same step guards /audit, receipts (GET /evidence/{id}/proof) and key lists (GET /keys)
        var readPathWatch = new attest.audit.ReadPathWatch(db.dataSource(),
                s.millis("attest.audit.read-path-check-ms", 60_000), clock);
        readPathWatch.state();
        registry.bind("checkAuditReadPathProcessor", new attest.audit.CheckAuditReadPathProcessor(readPathWatch));
        io.micrometer.core.instrument.Gauge.builder("attest.audit.reports.withheld", readPathWatch,
                attest.audit.ReadPathWatch::withheld).description("1 while /audit, receipts and key lists answer 503 "
                + "because the evidence store's read path changed or could not be checked (the log names the object)").register(metrics);
        registry.bind("readAuditQueryProcessor", new attest.audit.ReadAuditQueryProcessor());
        registry.bind("renderAuditReportProcessor", new attest.audit.RenderAuditReportProcessor(
                new attest.audit.AuditReports(db.dataSource())));
        var auditChain = new attest.evidence.chain.EvidenceChain(instanceId);
        registry.bind("readAuditRecordPathProcessor", new attest.audit.ReadAuditRecordPathProcessor());
        // receipts (issue #11): GET /evidence/{id}/proof for the record's caller or an auditor
        registry.bind("readProofPathProcessor", new attest.evidence.ReadProofPathProcessor());
        registry.bind("renderEvidenceProofProcessor", new attest.evidence.RenderEvidenceProofProcessor(db.dataSource(),
                s.string("attest.audit.role", "auditor")));
        registry.bind("readEvidencePayloadProcessor", new attest.audit.ReadEvidencePayloadProcessor(
                new attest.audit.PayloadReads(db.dataSource(), auditChain, payloadCipher, topic, clock)));
        // re-executed replays go to this gateway's own data plane only (fixed origin), never to a recorded URL
        // ... and only a record a trusted signed checkpoint holds (this gateway's key, and retired or other
        // replicas' keys listed), waiting up to a checkpoint period for one that ended just now
        var replays = new attest.audit.Replays(db.dataSource(), auditChain, payloadCipher, topic,
                attest.audit.Replays.origin(s.required("attest.data.host"), s.integer("attest.data.port", 8080)),
                upstreams, clock, attest.audit.Replays.trustedKeys(signer.publicKey(),
                        s.string("attest.evidence.trusted-public-key-files", "")),
                s.millis("attest.evidence.checkpoint-every-ms", 10_000).plusSeconds(2));
        registry.bind("viewReplayProcessor", new attest.audit.ViewReplayProcessor(replays));
        registry.bind("runReplayProcessor", new attest.audit.RunReplayProcessor(replays));

        // responses and errors
        registry.bind("renderErrorProcessor", new RenderErrorProcessor());
        registry.bind("filterResponseHeadersProcessor", new FilterResponseHeadersProcessor());

        // control plane
        registry.bind("metricsRegistry", metrics);
        var storeGauges = new attest.ops.StoreGauges(db.dataSource(), instanceId,
                s.millis("attest.health.sample-ms", 1000));
        new io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics().bindTo(metrics);
        new io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics().bindTo(metrics);
        new io.micrometer.core.instrument.binder.system.ProcessorMetrics().bindTo(metrics);
        new io.micrometer.core.instrument.binder.jvm.JvmGcMetrics().bindTo(metrics);
        new io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics().bindTo(metrics);
        new io.micrometer.core.instrument.binder.jvm.JvmInfoMetrics().bindTo(metrics);
        new io.micrometer.core.instrument.binder.system.UptimeMetrics().bindTo(metrics);
        // the evidence store's connection pool (hikaricp_connections_*)
        db.dataSource().setMetricRegistry(metrics);
        // http_server_requests_seconds on both planes; per-call metrics come from RecordEvidenceProcessor
        context.getManagementStrategy().addEventNotifier(new attest.ops.HttpServerMetrics(metrics));
        // from the evidence store, one reading shared with readiness: outbox backlog and relay lag, the age of
        // this chain's last checkpoint, held calls pending approval
        io.micrometer.core.instrument.Gauge.builder("attest.outbox.backlog", storeGauges,
                g -> g.sample().outboxBacklog()).description("evidence events not yet published to Kafka")
                .register(metrics);
        io.micrometer.core.instrument.Gauge.builder("attest.outbox.relay.lag", storeGauges,
                g -> Math.max(0, g.sample().relayLagSeconds())).baseUnit("seconds")
                .description("age of the oldest unpublished evidence event (0: none waiting)").register(metrics);
        io.micrometer.core.instrument.Gauge.builder("attest.evidence.checkpoint.age", storeGauges,
                g -> g.sample().checkpointAgeSeconds()).baseUnit("seconds")
                .description("age of this instance's last signed checkpoint (-1: none yet)").register(metrics);
        io.micrometer.core.instrument.Gauge.builder("attest.approvals.pending", storeGauges,
                g -> g.sample().pendingApprovals()).description("held calls waiting for approvers").register(metrics);
        io.micrometer.core.instrument.FunctionCounter.builder("attest.evidence.writes", writer, EvidenceWriter::written)
                .description("evidence writes committed").register(metrics);
        io.micrometer.core.instrument.FunctionCounter.builder("attest.evidence.commits", writer, EvidenceWriter::commits)
                .description("evidence transactions committed (group commit)").register(metrics);
        io.micrometer.core.instrument.Gauge.builder("attest.evidence.store.healthy", writer, w -> w.healthy() ? 1 : 0)
                .description("1 when the last evidence commit succeeded").register(metrics);
        io.micrometer.core.instrument.Gauge.builder("attest.http.connections", dataConnections,
                attest.http.ConnectionLimits::open).tag("plane", "data").register(metrics);
        io.micrometer.core.instrument.Gauge.builder("attest.http.connections", controlConnections,
                attest.http.ConnectionLimits::open).tag("plane", "control").register(metrics);
        io.micrometer.core.instrument.Gauge.builder("attest.http.request.buffer.bytes", requestBudget,
                attest.http.RequestBudget::used).register(metrics);
        io.micrometer.core.instrument.FunctionCounter.builder("attest.evidence.refusals.recorded", refusals,
                attest.evidence.RefusalRecorder::recorded).register(metrics);
        io.micrometer.core.instrument.FunctionCounter.builder("attest.evidence.refusals.counted", refusals,
                attest.evidence.RefusalRecorder::counted).register(metrics);
        // a timer per route (per stage of the data path): camel-micrometer's route policy meters, made cheaply
        context.addRoutePolicyFactory(new attest.ops.RouteTimers(metrics));
        registry.bind("checkHealthProcessor", new CheckHealthProcessor(db.dataSource(), writer));
        // day-2 operations (issue #14): liveness, readiness, drain
        var readiness = new attest.ops.Readiness(storeGauges, signer::keyId, context, kafka,
                s.millis("attest.health.max-relay-lag-ms", 900_000));
        registry.bind("attestReadiness", readiness);
        registry.bind("checkLivenessProcessor", new attest.control.CheckLivenessProcessor());
        registry.bind("checkReadinessProcessor", new attest.control.CheckReadinessProcessor(readiness));
        var drain = new attest.ops.Drain(readiness, inFlightStreams, context,
                s.millis("attest.shutdown.readiness-grace-ms", 5_000), s.millis("attest.shutdown.drain-timeout-ms", 30_000),
                s.millis("attest.shutdown.stream-drain-ms", 60_000), s.millis("attest.evidence.commit-timeout-ms", 5_000));
        registry.bind(attest.ops.Drain.BEAN, drain);
        registry.bind("checkDrainingProcessor", new attest.ops.CheckDrainingProcessor(drain));
        // hot reload of the rules: file changes (the rules-watch route) or POST /rules/reload on the control plane
        var reloader = new attest.rules.RuleReloader(policyFile, maskingDir, riskDir, upstreamNames, hmacKey, policy,
                masking, riskEngine, metrics);
        LOG.info("rules version {}", reloader.current());
        registry.bind("ruleReloader", reloader);
        registry.bind("checkRulesAdminProcessor", new attest.control.CheckRulesAdminProcessor(
                s.string("attest.rules.admin-role", "attest-admin")));
        registry.bind("reloadRulesProcessor", new attest.control.ReloadRulesProcessor(reloader));
        context.getPropertiesComponent().addOverrideProperty("attest.rules.watch",
                String.valueOf(s.longValue("attest.rules.reload-check-ms", 2000) > 0));
        registry.bind("renderMetricsProcessor", new RenderMetricsProcessor(metrics));
        bindUsage(s, registry, db, upstreamNames, usageCounters.get(), metrics, closer);
        registry.bind("renderOpenApiProcessor", new attest.control.RenderOpenApiProcessor());

        try {
            context.addService(closer);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
        LOG.info("Attest instance {} configured", instanceId);
    }

    /**
     * Binds the approval stage: the store, the JDBC aggregation repository, the waiters, every approval
     * processor, the approval page and the email notifier. Also used by the approval route tests.
     */
    public static void bindApprovals(Settings s, Registry registry, Database db, EvidenceWriter writer,
                                     EvidenceAssembler assembler, UpstreamRegistry upstreams,
                                     java.util.function.Supplier<java.util.List<attest.approval.RiskRule>> riskRules,
                                     attest.masking.MaskingService masking, TokenValidator validator, String issuer,
                                     String topic, String instanceId, Clock clock,
                                     attest.evidence.crypto.PayloadCipher cipher,
                                     java.util.function.Consumer<Runnable> onStop) {
        var store = new attest.approval.ApprovalStore(db.dataSource(), topic, instanceId, clock).limitSelfRefusals(
                s.integer("attest.approval.self-refusals-per-window", 10),
                s.millis("attest.approval.self-refusal-window-ms", 60_000).toMillis());
        var templates = new attest.approval.ApprovalTemplates(Path.of(s.string("attest.approval.templates-dir",
                "approval-templates")));
        if (cipher != null) {
            store.encryptWith(cipher);
        }
        var waiters = new attest.approval.ApprovalWaiters(store, s.millis("attest.approval.poll-ms", 500));
        onStop.accept(waiters::close);
        var repository = new org.apache.camel.processor.aggregate.jdbc.JdbcAggregationRepository(
                new org.springframework.jdbc.datasource.DataSourceTransactionManager(db.dataSource()),
                "approval_aggregation", db.dataSource());
        repository.setUseRecovery(true);
        repository.setRecoveryInterval(s.longValue("attest.approval.recovery-interval-ms", 5000));
        repository.setMaximumRedeliveries(s.integer("attest.approval.recovery-attempts", 120));
        repository.setDeadLetterUri("log:attest.approval.unrecoverable?level=ERROR&showAll=false&showBody=true"
                + "&showHeaders=false&showException=false");
        registry.bind("approvalAggregationRepository", repository);
        registry.bind("approvalTallyStrategy", new attest.approval.ApprovalTallyStrategy());
        registry.bind("keepOriginalStrategy", new attest.approval.KeepOriginalStrategy());
        var defaults = new attest.approval.HoldCallProcessor.Defaults(
                s.string("attest.approval.default-approver-role", "approver"),
                s.integer("attest.approval.default-approvals-required", 1),
                s.millis("attest.approval.default-ttl-ms", 900_000));
        var preview = new attest.approval.ApprovalPreview(masking);
        registry.bind("holdCallProcessor", new attest.approval.HoldCallProcessor(riskRules, defaults,
                preview, assembler, writer, store, clock,
                s.integer("attest.approval.max-pending-per-requester", 20)));
        registry.bind("prepareApprovalSignalProcessor", new attest.approval.PrepareApprovalSignalProcessor(clock));
        registry.bind("awaitApprovalProcessor", new attest.approval.AwaitApprovalProcessor(waiters,
                s.millis("attest.approval.window-ms", 25_000)));
        registry.bind("deliverHeldCallProcessor", new attest.approval.DeliverHeldCallProcessor(store,
                s.longValue("attest.approval.retry-after-seconds", 5), clock));
        registry.bind("resolveApprovalProcessor", new attest.approval.ResolveApprovalProcessor(store));
        registry.bind("claimApprovedCallProcessor", new attest.approval.ClaimApprovedCallProcessor(store,
                s.millis("attest.approval.execution-lease-ms", 120_000)));
        registry.bind("restoreHeldCallProcessor", new attest.approval.RestoreHeldCallProcessor(upstreams, writer));
        registry.bind("checkChainedDigestProcessor", new attest.approval.CheckChainedDigestProcessor(store));
        registry.bind("storeApprovalResultProcessor", new attest.approval.StoreApprovalResultProcessor(store, waiters,
                s.millis("attest.approval.result-keep-ms", 0)));
        registry.bind("closeHeldCallProcessor", new attest.approval.CloseHeldCallProcessor(store, writer, waiters,
                topic, clock));
        registry.bind("readApprovalPathProcessor", new attest.approval.ReadApprovalPathProcessor());
        registry.bind("findRequesterApprovalProcessor", new attest.approval.FindApprovalProcessor(store, true));
        registry.bind("findApproverApprovalProcessor", new attest.approval.FindApprovalProcessor(store, false));
        registry.bind("cancelHeldCallProcessor", new attest.approval.CancelHeldCallProcessor(store));
        registry.bind("renderApprovalNotFoundProcessor", new attest.approval.RenderApprovalNotFoundProcessor());
        registry.bind("listApprovalsProcessor", new attest.approval.ListApprovalsProcessor(store, clock, preview));
        registry.bind("renderApprovalProcessor", new attest.approval.RenderApprovalProcessor(clock, preview));
        registry.bind("readDecisionJsonProcessor", new attest.approval.ReadDecisionJsonProcessor());
        registry.bind("decideApprovalProcessor", new attest.approval.DecideApprovalProcessor(store));
        registry.bind("flushSelfRefusalsProcessor", new attest.approval.FlushSelfRefusalsProcessor(store, 100));
        registry.bind("renderDecisionProcessor", new attest.approval.RenderDecisionProcessor());

        // the approval page: Keycloak sign-in (authorization code + PKCE), sessions in the store
        String publicUrl = publicUrl(s.string("attest.control.public-url", "http://" + s.required("attest.control.host")
                + ":" + s.required("attest.control.port")));
        String pageClient = s.string("attest.approval.page.client-id", "attest-approval-page");
        var sessions = new attest.approval.ApprovalSessions(db.dataSource(), clock,
                s.millis("attest.approval.page.login-ttl-ms", 600_000),
                s.integer("attest.approval.page.max-pending-logins", 10_000),
                s.integer("attest.approval.page.max-pending-logins-per-source", 20));
        registry.bind("readApprovalSessionProcessor", new attest.approval.ReadApprovalSessionProcessor(sessions,
                validator));
        registry.bind("startApprovalLoginProcessor", new attest.approval.StartApprovalLoginProcessor(sessions,
                issuer + "/protocol/openid-connect/auth", pageClient, publicUrl));
        registry.bind("completeApprovalLoginProcessor", new attest.approval.CompleteApprovalLoginProcessor(sessions,
                validator, issuer + "/protocol/openid-connect/token", pageClient, publicUrl,
                s.millis("attest.approval.page.session-ms", 1_800_000), clock));
        registry.bind("checkApprovalFormProcessor", new attest.approval.CheckApprovalFormProcessor(publicUrl));
        registry.bind("renderApprovalPageProcessor", new attest.approval.RenderApprovalPageProcessor(clock,
                templates, preview));

        // approvers by email: found with the Keycloak Admin Client, sent with camel-mail
        boolean mail = s.bool("attest.mail.enabled", false);
        attest.approval.ApproverDirectory directory = (role, group) -> java.util.List.of();
        if (mail) {
            String[] kc = attest.approval.KeycloakApproverDirectory.serverAndRealm(issuer);
            var keycloak = new attest.approval.KeycloakApproverDirectory(
                    s.string("attest.approval.admin.server-url", kc[0]), kc[1],
                    s.string("attest.approval.admin.client-id", "attest-gateway"),
                    secret(s, "attest.approval.admin.client-secret"));
            onStop.accept(keycloak::close);
            directory = keycloak;
        } else {
            LOG.info("approval email off (attest.mail.enabled=false): approvers decide over REST or the page");
        }
        registry.bind("findApproversProcessor", new attest.approval.FindApproversProcessor(directory));
        registry.bind("renderApprovalEmailProcessor", new attest.approval.RenderApprovalEmailProcessor(
                s.string("attest.mail.from", "attest@localhost"), publicUrl, templates, preview));
        registry.bind("recordNotifiedProcessor", new attest.approval.RecordNotifiedProcessor(store));
        var notifications = new attest.approval.ApprovalNotifications(db.dataSource(),
                s.millis("attest.approval.notify.window-ms", 900_000),
                s.integer("attest.approval.notify.max-per-window", 10), clock);
        registry.bind("allotApprovalEmailsProcessor", new attest.approval.AllotApprovalEmailsProcessor(notifications));
        registry.bind("takeApprovalDigestsProcessor", new attest.approval.TakeApprovalDigestsProcessor(notifications,
                100));
        registry.bind("renderApprovalDigestEmailProcessor", new attest.approval.RenderApprovalDigestEmailProcessor(
                s.string("attest.mail.from", "attest@localhost"), publicUrl, templates));
        registry.bind("approvalStore", store);
    }

    /**
     * {@code attest.control.public-url} as the page's links and redirect URI are built from it: without trailing
     * slashes (a configured {@code https://attest.example/} must not make {@code //auth/callback}). It must be an
     * http or https URL with a host; anything else stops the start, as the page's same-origin check could never pass.
     */
    static String publicUrl(String configured) {
        String url = configured.strip();
        while (url.endsWith("/")) {
            url = url.substring(0, url.length() - 1);
        }
        try {
            attest.http.WebOrigin.ofUrl(url);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("attest.control.public-url is not an http or https URL with a host");
        }
        return url;
    }

    /**
     * Binds virtual keys: the store, the resolver (the data plane's key check and the owners' refresh from
     * Keycloak with the admin client), the control plane's /keys processors and the maintenance processors.
     */
    private static attest.keys.KeyResolver bindKeys(Settings s, Registry registry, Database db, PolicyEngine policy,
                                                    Set<String> upstreamNames, String issuer, String instanceId,
                                                    String topic, attest.usage.UsageCounters counters, Clock clock,
                                                    Closer closer) {
        var store = new attest.keys.KeyStore(db.dataSource(), instanceId, topic, clock);
        attest.keys.OwnerDirectory owners;
        String adminSecret;
        try {
            adminSecret = secret(s, "attest.approval.admin.client-secret");
        } catch (IllegalStateException e) {
            adminSecret = null;
        }
        if (adminSecret != null) {
            String[] kc = attest.approval.KeycloakApproverDirectory.serverAndRealm(issuer);
            var keycloak = new attest.keys.KeycloakOwnerDirectory(s.string("attest.approval.admin.server-url", kc[0]),
                    kc[1], s.string("attest.approval.admin.client-id", "attest-gateway"), adminSecret);
            closer.add(keycloak::close);
            owners = keycloak;
        } else {
            LOG.warn("virtual keys: no admin client secret (attest.approval.admin.client-secret-env/-file), so key "
                    + "owners cannot be checked and every key call is refused (503)");
            owners = subject -> {
                throw new IllegalStateException("no admin client secret");
            };
        }
        var resolver = new attest.keys.KeyResolver(store, owners, clock, s.millis("attest.keys.cache-ms", 2000),
                s.millis("attest.keys.owner-max-age-ms", 30_000), s.integer("attest.keys.misses-per-source", 20), issuer);
        registry.bind("keyStore", store);
        registry.bind("readCredentialProcessor", new attest.identity.ReadCredentialProcessor());
        // a key's lookup reads the store and may ask Keycloak for its owner (both cached for seconds)
        registry.bind("verifyKeyProcessor", blocking(registry, new attest.identity.VerifyKeyProcessor(resolver),
                e -> true));
        registry.bind("refuseCredentialProcessor", new attest.identity.RefuseCredentialProcessor());
        registry.bind("narrowToKeyScopeProcessor", new attest.policy.NarrowToKeyScopeProcessor());
        var limits = attest.usage.LimitsFile.load(Path.of(s.string("attest.usage.limits-file", "usage/limits.yaml")));
        var prices = attest.usage.Prices.load(Path.of(s.string("attest.usage.prices-file", "usage/prices.yaml")));
        LOG.info("usage: {} limit entries, {} priced in {}", limits.entries().size(),
                s.string("attest.usage.prices-file", "usage/prices.yaml"), prices.currency());
        registry.bind("usagePrices", prices);
        // counted in the store only when a budget or limit applies to the call (a key's budget, limits.yaml)
        registry.bind("admitUsageProcessor", blocking(registry, new attest.usage.AdmitUsageProcessor(counters, limits,
                prices), e -> attest.usage.AdmitUsageProcessor.countsInStore(e, limits)));
        registry.bind("readKeyPathProcessor", new attest.keys.ReadKeyPathProcessor());
        // the rules of creation are shared with the CLI (attest keys create)
        registry.bind("createKeyProcessor", new attest.keys.CreateKeyProcessor(
                attest.keys.KeyIssuer.fromSettings(s, store, policy, upstreamNames, clock), clock));
        registry.bind("listKeysProcessor", new attest.keys.ListKeysProcessor(store, s.string("attest.audit.role",
                "auditor"), clock));
        registry.bind("revokeKeyProcessor", new attest.keys.RevokeKeyProcessor(store, s.string("attest.keys.admin-role",
                "key-admin"), clock));
        registry.bind("recordKeyExpiriesProcessor", new attest.keys.RecordKeyExpiriesProcessor(store));
        registry.bind("refreshKeyOwnersProcessor", new attest.keys.RefreshKeyOwnersProcessor(resolver));
        registry.bind("pruneUsageCountersProcessor", new attest.usage.PruneUsageCountersProcessor(counters));
        return resolver;
    }

    /** Binds token usage: asked for, read and settled on the data path, counted in Prometheus, reported. */
    private static void bindUsage(Settings s, Registry registry, Database db, Set<String> upstreamNames,
                                  attest.usage.UsageCounters counters, io.micrometer.core.instrument.MeterRegistry metrics,
                                  Closer closer) {
        attest.usage.Prices prices = registry.lookupByNameAndType("usagePrices", attest.usage.Prices.class);
        Set<String> notAsked = new java.util.HashSet<>(s.list("attest.usage.no-stream-usage"));
        for (String u : notAsked) {
            if (!upstreamNames.contains(u)) {
                throw new IllegalStateException("attest.usage.no-stream-usage names " + u + ", which is not an upstream");
            }
        }
        registry.bind("askForUsageProcessor", new attest.usage.AskForUsageProcessor(notAsked));
        registry.bind("readUsageProcessor", new attest.usage.ReadUsageProcessor());
        // a stream's usage is charged to its budgets (a database transaction) on these threads, never on the event loop
        // that ended the stream; the charges queued when the gateway stops are made before the database closes
        attest.usage.UsageSettling settling = new attest.usage.UsageSettling(4, 10_000);
        closer.add(() -> settling.drain(10_000));
        registry.bind("settleUsageProcessor", blocking(registry, new attest.usage.SettleUsageProcessor(
                new attest.usage.UsageLedger(counters, prices, metrics, s.integer("attest.usage.max-model-labels", 200)),
                settling), attest.usage.SettleUsageProcessor::chargesInPlace));
        var reports = new attest.audit.UsageReports(db.dataSource(), prices);
        registry.bind("readUsageQueryProcessor", new attest.audit.ReadUsageQueryProcessor());
        registry.bind("renderUsageReportProcessor", new attest.audit.RenderUsageReportProcessor(reports));
    }

    public static final String BLOCKING_POOL = "attestBlockingSteps";

    /**
     * A data-plane step that may block, kept off the event loops (the pool bound as {@link #BLOCKING_POOL}; without
     * one, as in some route tests, the step itself).
     */
    static org.apache.camel.Processor blocking(Registry registry, org.apache.camel.Processor step,
                                               java.util.function.Predicate<org.apache.camel.Exchange> blocks) {
        var pool = registry.lookupByNameAndType(BLOCKING_POOL, java.util.concurrent.Executor.class);
        return pool == null ? step : new attest.http.BlockingStep(step, blocks, pool);
    }

    /** The instance id (the evidence chain's id): {@code attest.instance-id}, else host name and data port. */
    public static String instanceId(Settings s) {
        return s.string("attest.instance-id", hostName() + "-" + s.string("attest.data.port", "8080"));
    }

    private static String hostName() {
        String env = System.getenv("HOSTNAME");
        if (env != null && !env.isBlank()) {
            return env.strip();
        }
        try {
            return java.net.InetAddress.getLocalHost().getHostName();
        } catch (java.io.IOException e) {
            return "gw";
        }
    }

    /** A secret from the environment variable named by {@code <key>-env}, or the file named by {@code <key>-file}. */
    private static String secret(Settings s, String key) {
        return optionalSecret(s, key).orElseThrow(() -> new IllegalStateException(key
                + ": set the environment variable named by " + key + "-env, or " + key + "-file"));
    }

    /** The key for the masking 'hash' action, from the environment or a file; empty when none is configured. */
    private static byte[] maskingKey(Settings s) {
        return optionalSecret(s, "attest.masking.hmac-key").map(k -> k.getBytes(java.nio.charset.StandardCharsets.UTF_8))
                .orElse(new byte[0]);
    }

    /** A secret from the environment variable named by {@code key-env}, else from the file {@code key-file}. */
    public static java.util.Optional<String> optionalSecret(Settings s, String key) {
        var env = s.optional(key + "-env");
        if (env.isPresent() && System.getenv(env.get()) != null) {
            return java.util.Optional.of(System.getenv(env.get()).strip());
        }
        var file = s.optional(key + "-file");
        if (file.isPresent()) {
            try {
                return java.util.Optional.of(java.nio.file.Files.readString(Path.of(file.get())).strip());
            } catch (java.io.IOException e) {
                throw new IllegalStateException("cannot read " + key + "-file " + file.get());
            }
        }
        return java.util.Optional.empty();
    }

    /** Closes what configure() opened, in reverse order, when Camel stops. */
    private static final class Closer extends ServiceSupport {
        private final Deque<Runnable> actions = new ArrayDeque<>();

        void add(Runnable r) {
            actions.push(r);
        }

        @Override
        protected void doStop() {
            while (!actions.isEmpty()) {
                try {
                    actions.pop().run();
                } catch (RuntimeException e) {
                    LOG.warn("error while stopping: {}", e.getClass().getSimpleName());
                }
            }
        }
    }

    /**
     * Whether a model's name may be a label of the unauthenticated metrics: no rule set in force (the built-in
     * detectors when there is none) finds regulated data in it, and none refuses it.
     */
    static java.util.function.Predicate<String> modelNameIsPlain(attest.masking.MaskingService masking) {
        java.util.function.Predicate<String> builtIn = attest.ops.CallMetrics.builtInPlain();
        return name -> {
            java.util.List<attest.masking.MaskingRuleSet> sets = masking.ruleSets();
            if (sets.isEmpty()) {
                return builtIn.test(name);
            }
            for (attest.masking.MaskingRuleSet r : sets) {
                boolean[] found = {false};
                masking.run(() -> r.masker().mask(name, "/metrics", x -> found[0] = true));
                if (found[0]) {
                    return false;
                }
            }
            return true;
        };
    }
}
