package attest.approval;

import java.time.Instant;
import java.util.UUID;

/**
 * A message for the approval aggregator: a call was held, decided or cancelled.
 *
 * @param approvalId the held call (the correlation key)
 * @param state      the call's state after the step
 * @param expiresAt  when the call expires (the aggregation's completion timeout is the time left)
 * @param approver   who decided, if a decision
 */
public record ApprovalSignal(UUID approvalId, String state, Instant expiresAt, String approver) {
}
