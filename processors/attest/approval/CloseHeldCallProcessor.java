package attest.approval;

import attest.Exchanges;
import attest.evidence.EvidenceEvents;
import attest.evidence.EvidenceRecord;
import attest.evidence.EvidenceWriter;
import attest.evidence.Outcome;
import attest.http.ErrorBodies;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;

/**
 * Ends a held call that will not be executed: denied (403), cancelled by its requester, or expired
 * because no approver decided within its time to live (expiry means deny). Its evidence record becomes
 * terminal with that outcome, the answer is stored for the requester, and a waiting requester is woken.
 */
public class CloseHeldCallProcessor implements Processor {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final ApprovalStore store;
    private final EvidenceWriter writer;
    private final ApprovalWaiters waiters;
    private final String topic;
    private final Clock clock;

    public CloseHeldCallProcessor(ApprovalStore store, EvidenceWriter writer, ApprovalWaiters waiters, String topic,
                                  Clock clock) {
        this.store = store;
        this.writer = writer;
        this.waiters = waiters;
        this.topic = topic;
        this.clock = clock;
    }

    @Override
    public void process(Exchange exchange) {
        Approval a = exchange.getProperty(Exchanges.APPROVAL, Approval.class);
        String state = a.state();
        if (Approval.PENDING.equals(state)) {
            if (!store.expire(a.id())) {
                return; // decided in the meantime: that decision's own completion handles it
            }
            state = Approval.EXPIRED;
        }
        int status;
        Outcome outcome;
        String code;
        String message;
        switch (state) {
            case Approval.DENIED -> {
                status = 403;
                outcome = Outcome.DENIED;
                code = "approval_denied";
                message = "an approver denied this call: " + a.reason();
            }
            case Approval.CANCELLED -> {
                status = 410;
                outcome = Outcome.CANCELLED;
                code = "approval_cancelled";
                message = "the call was cancelled";
            }
            default -> {
                status = 410;
                outcome = Outcome.EXPIRED;
                code = "approval_expired";
                message = "no approver decided in time; the call was not executed";
            }
        }
        byte[] body = ErrorBodies.json(code, message, a.requestId(), a.ruleId());
        Instant now = clock.instant();
        EvidenceRecord r = writer.find(a.evidenceId());
        r.setStatus(status);
        r.setErrorCode(code);
        r.setStreamed(false);
        r.setResponseBody(body);
        r.setResponseSize((long) body.length);
        r.setResponseSha256(attest.evidence.EvidenceAssembler.sha256(body));
        r.setResponseTruncated(false);
        writer.update(r, EvidenceEvents.terminate(r, outcome, now, topic, now));
        ObjectNode detail = JSON.createObjectNode();
        detail.put("request_id", a.requestId());
        detail.put("latency_ms", Duration.between(a.createdAt(), now).toMillis());
        store.finish(a, state, new ApprovalStore.Result(status, "[[\"Content-Type\",\"application/json\"]]", body),
                Duration.ZERO, null, state.equals(Approval.DENIED) ? "denied" : state, detail);
        waiters.signal(a.id());
    }
}
