package attest.approval;

import attest.Exchanges;
import attest.http.GatewayException;
import attest.http.ResponseHeaders;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.Processor;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Stores the executed call's answer (already masked, and already in the evidence record) for the requester,
 * marks the call executed (or failed, and flagged when its digest no longer matched), and wakes the
 * requester if it waits on this replica.
 */
public class StoreApprovalResultProcessor implements Processor {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final ApprovalStore store;
    private final ApprovalWaiters waiters;
    private final Duration keep;

    public StoreApprovalResultProcessor(ApprovalStore store, ApprovalWaiters waiters, Duration keep) {
        this.store = store;
        this.waiters = waiters;
        this.keep = keep;
    }

    @Override
    public void process(Exchange exchange) {
        Approval a = exchange.getProperty(Exchanges.APPROVAL, Approval.class);
        GatewayException error = exchange.getProperty(Exchanges.ERROR, GatewayException.class);
        Message m = exchange.getMessage();
        Integer status = m.getHeader(Exchange.HTTP_RESPONSE_CODE, Integer.class);
        // the headers the gateway decided for this answer (relayed upstream headers included), never message headers
        List<Map.Entry<String, String>> headers = new ArrayList<>();
        for (Map.Entry<String, String> h : ResponseHeaders.of(exchange).entries()) {
            if (ResponseHeaders.allowed(h.getKey()) && !h.getKey().equalsIgnoreCase(ResponseHeaders.REQUEST_ID)) {
                headers.add(h);
            }
        }
        byte[] body = m.getBody(byte[].class);
        ObjectNode detail = JSON.createObjectNode();
        detail.put("request_id", exchange.getProperty(Exchanges.REQUEST_ID, String.class));
        String flagged = null;
        if (error != null) {
            detail.put("error", error.code());
            if ("held_request_tampered".equals(error.code())) {
                flagged = "digest_mismatch";
            }
        }
        store.finish(a, error == null ? Approval.EXECUTED : Approval.FAILED, new ApprovalStore.Result(
                status == null ? 200 : status, HeldRequest.headersJson(headers), body == null ? new byte[0] : body),
                keep, flagged, flagged != null ? "flagged" : error == null ? "executed" : "failed", detail);
        waiters.signal(a.id());
    }
}
