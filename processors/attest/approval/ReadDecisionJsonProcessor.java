package attest.approval;

import attest.Exchanges;
import attest.http.GatewayException;
import attest.http.InboundRequest;
import com.fasterxml.jackson.databind.JsonNode;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;

/**
 * Sets {@code attestApprovalDecision} from a JSON body {@code {"decision": "approve"|"deny", "comment": "..."}}, and
 * nothing else (the control plane's OpenAPI schema: {@code additionalProperties: false}).
 */
public class ReadDecisionJsonProcessor implements Processor {
    @Override
    public void process(Exchange exchange) {
        InboundRequest in = exchange.getProperty(Exchanges.INBOUND, InboundRequest.class);
        try {
            JsonNode n = ApprovalJson.JSON.readTree(in.body() == null ? new byte[0] : in.body());
            if (n == null || !n.isObject() || !n.path("decision").isTextual()
                    || !(n.path("comment").isMissingNode() || n.path("comment").isNull() || n.path("comment").isTextual())) {
                throw GatewayException.badRequest("expected {\"decision\": \"approve\" or \"deny\", \"comment\": text}");
            }
            java.util.Iterator<String> names = n.fieldNames();
            while (names.hasNext()) {
                String name = names.next();
                if (!name.equals("decision") && !name.equals("comment")) {
                    // the schema's additionalProperties: false; a member with a meaning elsewhere
                    // (approvals_required, approver) must not look as if it were taken
                    throw GatewayException.badRequest("unknown member in a decision: only decision and comment");
                }
            }
            exchange.setProperty(Exchanges.APPROVAL_DECISION, new DecisionInput(n.get("decision").asText(),
                    n.path("comment").isTextual() ? n.get("comment").asText() : null, "rest"));
        } catch (java.io.IOException e) {
            throw GatewayException.badRequest("the body is not valid JSON");
        } catch (IllegalArgumentException e) {
            throw GatewayException.badRequest(e.getMessage());
        }
    }
}
