package attest.approval;

import attest.Exchanges;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.Processor;

import java.time.Clock;
import java.time.Duration;

/**
 * Sets the message for the approval aggregator from {@code attestApprovalSignal}: the approval id as body
 * and correlation header, the state, the approver, and the time left as the completion timeout. Nothing
 * else goes into the aggregation repository.
 */
public class PrepareApprovalSignalProcessor implements Processor {
    private final Clock clock;

    public PrepareApprovalSignalProcessor(Clock clock) {
        this.clock = clock;
    }

    @Override
    public void process(Exchange exchange) {
        ApprovalSignal s = exchange.getProperty(Exchanges.APPROVAL_SIGNAL, ApprovalSignal.class);
        if (s == null) {
            throw new IllegalStateException("no approval signal on the exchange");
        }
        Message m = exchange.getMessage();
        m.removeHeaders("*");
        m.setBody(s.approvalId().toString());
        m.setHeader(ApprovalTallyStrategy.APPROVAL_ID, s.approvalId().toString());
        m.setHeader(ApprovalTallyStrategy.STATE, s.state());
        m.setHeader(ApprovalTallyStrategy.TTL_MS, Math.max(1L, Duration.between(clock.instant(), s.expiresAt())
                .toMillis()));
        if (s.approver() != null) {
            m.setHeader(ApprovalTallyStrategy.APPROVER, s.approver());
        }
    }
}
