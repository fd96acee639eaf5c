package attest.approval;

import attest.http.ResponseHeaders;
import attest.Exchanges;
import attest.http.ErrorBodies;
import attest.identity.Identity;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.Processor;

import java.time.Clock;
import java.util.Map;

/**
 * Sets the requester's answer from the held call in {@code attestApproval}: the upstream's stored, masked
 * answer once executed (handed over once, or while it is kept), 403 once denied, 410 once expired or
 * cancelled, and while it waits 202 with {@code Location: /approvals/{id}/result} and {@code Retry-After}.
 */
public class DeliverHeldCallProcessor implements Processor {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final ApprovalStore store;
    private final long retryAfterSeconds;
    private final Clock clock;

    public DeliverHeldCallProcessor(ApprovalStore store, long retryAfterSeconds, Clock clock) {
        this.store = store;
        this.retryAfterSeconds = retryAfterSeconds;
        this.clock = clock;
    }

    @Override
    public void process(Exchange exchange) {
        Approval a = exchange.getProperty(Exchanges.APPROVAL, Approval.class);
        Identity who = exchange.getProperty(Exchanges.IDENTITY, Identity.class);
        String requestId = exchange.getProperty(Exchanges.REQUEST_ID, String.class);
        Message m = exchange.getMessage();
        switch (a.state()) {
            case Approval.EXECUTED, Approval.FAILED -> {
                var result = store.deliver(a.id(), who.subject());
                if (result.isEmpty()) {
                    error(m, 410, "result_gone", "the result of this call was already delivered", requestId, a);
                    return;
                }
                m.setHeader(Exchange.HTTP_RESPONSE_CODE, result.get().status());
                ResponseHeaders relayed = ResponseHeaders.of(exchange).clear();
                for (Map.Entry<String, String> h : HeldRequest.headers(result.get().headersJson())) {
                    relayed.set(h.getKey(), h.getValue());
                }
                m.setBody(result.get().body());
            }
            case Approval.DENIED -> error(m, 403, "approval_denied", "an approver denied this call: " + a.reason(),
                    requestId, a);
            case Approval.EXPIRED -> error(m, 410, "approval_expired", "no approver decided in time; the call "
                    + "was not executed", requestId, a);
            case Approval.CANCELLED -> error(m, 410, "approval_cancelled", "the call was cancelled", requestId, a);
            default -> {
                if (Approval.PENDING.equals(a.state()) && !clock.instant().isBefore(a.expiresAt())) {
                    error(m, 410, "approval_expired", "no approver decided in time; the call was not executed",
                            requestId, a);
                    return;
                }
                String location = "/approvals/" + a.id() + "/result";
                ObjectNode body = JSON.createObjectNode();
                body.put("status", "pending_approval");
                body.put("approval_id", a.id().toString());
                body.put("state", a.state());
                body.put("rule_id", a.ruleId());
                body.put("reason", a.reason());
                body.put("approvals", a.approvals());
                body.put("approvals_required", a.approvalsRequired());
                body.put("expires_at", a.expiresAt().toString());
                body.put("result", location);
                body.put("request_id", requestId);
                m.setHeader(Exchange.HTTP_RESPONSE_CODE, 202);
                ResponseHeaders.of(exchange).set(ResponseHeaders.CONTENT_TYPE, "application/json");
                ResponseHeaders.of(exchange).set("Location", location);
                ResponseHeaders.of(exchange).set("Retry-After", String.valueOf(retryAfterSeconds));
                m.setBody(body.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
            }
        }
    }

    private static void error(Message m, int status, String code, String message, String requestId, Approval a) {
        m.setHeader(Exchange.HTTP_RESPONSE_CODE, status);
        ResponseHeaders.of(m.getExchange()).set(ResponseHeaders.CONTENT_TYPE, "application/json");
        m.setBody(ErrorBodies.json(code, message, requestId, a.ruleId()));
    }
}
