package attest.approval;

import attest.Exchanges;
import attest.evidence.EvidenceAssembler;
import attest.evidence.EvidenceRecord;
import attest.evidence.EvidenceUnavailableException;
import attest.evidence.EvidenceWriter;
import attest.http.GatewayException;
import attest.http.InboundRequest;
import attest.identity.Identity;
import attest.ingress.UpstreamTarget;
import attest.policy.Decision;
import attest.policy.RequestFacts;
import attest.upstream.CredentialStripper;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.UUID;

/**
 * Holds a call for approval (the claim check): commits the call's evidence record (open, linked to the
 * approval) and the held call itself, the exact request without the caller's credentials, the identity,
 * the matched rule and the request's digest. Sets {@code attestApproval} and the aggregator's
 * {@code attestApprovalSignal}. No store: 503, nothing held. A requester who already has the maximum of pending
 * held calls gets 429 with Retry-After (when their earliest call expires), and the refusal is evidence.
 */
public class HoldCallProcessor implements Processor {
    private static final ObjectMapper JSON = new ObjectMapper().findAndRegisterModules();

    /** Approval settings for REVIEW decisions that come from the policy file rather than a risk rule. */
    public record Defaults(String approverRole, int approvalsRequired, Duration ttl) {
    }

    private final java.util.function.Supplier<List<RiskRule>> rules;
    private final Defaults defaults;
    private final ApprovalPreview preview;
    private final EvidenceAssembler assembler;
    private final EvidenceWriter writer;
    private final ApprovalStore store;
    private final Clock clock;
    private final int maxPendingPerRequester;

    public HoldCallProcessor(List<RiskRule> rules, Defaults defaults, ApprovalPreview preview,
                             EvidenceAssembler assembler, EvidenceWriter writer, ApprovalStore store, Clock clock) {
        this(() -> rules, defaults, preview, assembler, writer, store, clock, 0);
    }

    public HoldCallProcessor(List<RiskRule> rules, Defaults defaults, ApprovalPreview preview,
                             EvidenceAssembler assembler, EvidenceWriter writer, ApprovalStore store, Clock clock,
                             int maxPendingPerRequester) {
        this(() -> rules, defaults, preview, assembler, writer, store, clock, maxPendingPerRequester);
    }

    /**
     * @param rules                  the risk rules in force (they may be reloaded)
     * @param maxPendingPerRequester how many pending held calls one requester may have (0: no cap)
     */
    public HoldCallProcessor(java.util.function.Supplier<List<RiskRule>> rules, Defaults defaults, ApprovalPreview preview,
                             EvidenceAssembler assembler, EvidenceWriter writer, ApprovalStore store, Clock clock,
                             int maxPendingPerRequester) {
        this.maxPendingPerRequester = maxPendingPerRequester;
        this.rules = rules;
        this.defaults = defaults;
        this.preview = preview;
        this.assembler = assembler;
        this.writer = writer;
        this.store = store;
        this.clock = clock;
    }

    @Override
    public void process(Exchange exchange) throws JsonProcessingException {
        Decision d = exchange.getProperty(Exchanges.DECISION, Decision.class);
        InboundRequest in = exchange.getProperty(Exchanges.INBOUND, InboundRequest.class);
        Identity who = exchange.getProperty(Exchanges.IDENTITY, Identity.class);
        UpstreamTarget target = exchange.getProperty(Exchanges.TARGET, UpstreamTarget.class);
        RequestFacts facts = exchange.getProperty(Exchanges.FACTS, RequestFacts.class);
        RiskRule rule = rules.get().stream().filter(r -> r.id().equals(d.ruleId())).findFirst().orElse(null);
        String approverRole = rule == null ? defaults.approverRole() : rule.approverRole();
        String approverGroup = rule == null ? null : rule.approverGroup();
        int required = rule == null ? defaults.approvalsRequired() : rule.approvalsRequired();
        Duration ttl = rule == null ? defaults.ttl() : rule.ttl();

        Instant now = clock.instant();
        UUID id = UUID.randomUUID();
        byte[] body = in.body() == null ? new byte[0] : in.body();
        String headers = HeldRequest.headersJson(CredentialStripper.strip(in.headers(), exchange.getProperty(
                Exchanges.CREDENTIAL, attest.identity.Credential.class)).entries());
        String uri = HeldRequest.uriWithoutCredentials(in.uri());
        String digest = HeldRequest.digest(in.method(), uri, headers, body);

        EvidenceRecord r = exchange.getProperty(Exchanges.EVIDENCE, EvidenceRecord.class);
        assembler.fill(r, exchange);
        r.setApprovalId(id);
        try {
            writer.insert(r, null);
        } catch (EvidenceUnavailableException e) {
            r.setApprovalId(null);
            throw GatewayException.evidenceUnavailable();
        }
        exchange.setProperty(Exchanges.EVIDENCE_WRITTEN, true);

        Approval a = new Approval(id, r.getId(), r.getRequestId(), Approval.PENDING, who.subject(), who.username(),
                JSON.writeValueAsString(who), target.upstream().name(), target.path(), in.method(), uri, headers,
                body, digest, JSON.writeValueAsString(facts), d.ruleId(), d.reason(), approverRole, approverGroup,
                required, preview.of(target.upstream().name(), target.path(), body, in.isJson()), now, now.plus(ttl),
                null, null, null, null, List.of(), who.verifiedEmail(), who.actors());
        try {
            store.hold(a, maxPendingPerRequester);
        } catch (EvidenceUnavailableException e) {
            throw GatewayException.evidenceUnavailable();
        } catch (ApprovalStore.TooManyPendingException e) {
            // nothing was held: the call's evidence is completed as refused (429) by the error path
            r.setApprovalId(null);
            long wait = Math.max(1, Duration.between(now, e.retryAt()).toSeconds() + 1);
            throw new GatewayException(429, "too_many_held_calls", "you have " + maxPendingPerRequester
                    + " calls waiting for approval; wait for a decision, or cancel one",
                    attest.evidence.Outcome.DENIED, java.util.Map.of("Retry-After", String.valueOf(wait)));
        }
        exchange.setProperty(Exchanges.APPROVAL, a);
        exchange.setProperty(Exchanges.APPROVAL_SIGNAL, new ApprovalSignal(id, Approval.PENDING, a.expiresAt(), null));
    }
}
