package attest.approval;

import org.apache.camel.AggregationStrategy;
import org.apache.camel.Exchange;

/**
 * Correlates the signals of one held call (the hold, each decision, a cancel) in the aggregator: keeps the
 * call's latest state and the distinct approvers seen so far. The store has already applied each decision
 * under a row lock; the aggregation completes when the state is no longer {@code pending}, or on its
 * completion timeout (the rule's time to live).
 */
public class ApprovalTallyStrategy implements AggregationStrategy {
    public static final String APPROVAL_ID = "attestApprovalId";
    public static final String STATE = "attestApprovalState";
    public static final String TTL_MS = "attestApprovalTtlMs";
    public static final String APPROVER = "attestApprover";
    public static final String APPROVERS = "attestApprovers";

    @Override
    public Exchange aggregate(Exchange oldExchange, Exchange newExchange) {
        String approver = newExchange.getMessage().getHeader(APPROVER, String.class);
        if (oldExchange == null) {
            newExchange.getMessage().setHeader(APPROVERS, approver == null ? "" : approver);
            return newExchange;
        }
        var old = oldExchange.getMessage();
        String seen = old.getHeader(APPROVERS, "", String.class);
        if (approver != null && !java.util.Arrays.asList(seen.split(",")).contains(approver)) {
            old.setHeader(APPROVERS, seen.isEmpty() ? approver : seen + "," + approver);
        }
        String state = newExchange.getMessage().getHeader(STATE, String.class);
        if (state != null && !Approval.PENDING.equals(state)) {
            old.setHeader(STATE, state);
        }
        old.setHeader(TTL_MS, newExchange.getMessage().getHeader(TTL_MS));
        return oldExchange;
    }
}
