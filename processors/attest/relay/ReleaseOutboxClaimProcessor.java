package attest.relay;

import attest.evidence.Outbox;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** After a failed publish, gives the claimed rows back at once (their locks), so the next tick retries them. */
public class ReleaseOutboxClaimProcessor implements Processor {
    private static final Logger LOG = LoggerFactory.getLogger(ReleaseOutboxClaimProcessor.class);

    @Override
    public void process(Exchange exchange) {
        Outbox.Claim claim = exchange.getProperty(ClaimOutboxBatchProcessor.CLAIM, Outbox.Claim.class);
        Throwable cause = exchange.getProperty(Exchange.EXCEPTION_CAUGHT, Throwable.class);
        LOG.warn("evidence relay: {} events stay in the outbox ({})", claim == null ? 0 : claim.events().size(),
                cause == null ? "unknown" : cause.getClass().getSimpleName());
        if (claim != null) {
            claim.release();
        }
    }
}
