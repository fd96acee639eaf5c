package attest.approval;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.time.Duration;
import java.time.Instant;

/**
 * The approvers' view of a held call, as JSON: masked preview, requester, rule, reason, age, decisions, and what
 * the call asks of the model ({@code call}: upstream, model, max_tokens, stream, tools, logprobs).
 */
final class ApprovalJson {
    /** Reads strictly: a repeated field or a second value after the first is not a body (an approver's decision). */
    static final ObjectMapper JSON = new ObjectMapper()
            .enable(com.fasterxml.jackson.core.JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private ApprovalJson() {
    }

    static ObjectNode summary(Approval a, CallShape shape, Instant now) {
        ObjectNode n = JSON.createObjectNode();
        n.put("id", a.id().toString());
        n.put("state", a.state());
        n.put("requester", a.requesterUsername());
        n.put("requester_subject", a.requesterSubject());
        n.put("upstream", a.upstream());
        n.put("path", a.targetPath());
        n.put("rule_id", a.ruleId());
        n.put("reason", a.reason());
        n.put("preview", a.preview());
        n.put("approvals", a.approvals());
        n.put("approvals_required", a.approvalsRequired());
        n.put("created_at", a.createdAt().toString());
        n.put("expires_at", a.expiresAt().toString());
        n.put("age_seconds", Duration.between(a.createdAt(), now).toSeconds());
        n.put("request_sha256", a.requestSha256());
        n.set("call", shape.json());
        return n;
    }

    static ObjectNode full(Approval a, CallShape shape, Instant now) {
        ObjectNode n = summary(a, shape, now);
        var votes = n.putArray("decisions");
        for (Approval.Vote v : a.votes()) {
            ObjectNode o = votes.addObject();
            o.put("approver", v.approverUsername());
            o.put("decision", v.decision());
            o.put("comment", v.comment());
            o.put("channel", v.channel());
            o.put("decided_at", v.decidedAt().toString());
        }
        if (a.flagged() != null) {
            n.put("flagged", a.flagged());
        }
        return n;
    }
}
