package attest.relay;

import attest.evidence.Outbox;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;

/** After a failed publish, gives the claimed rows back at once, so the next tick retries them. */
public class ReleaseOutboxClaimProcessor implements Processor {
    private static final Logger LOG = LoggerFactory.getLogger(ReleaseOutboxClaimProcessor.class);
    private final Outbox outbox;

    public ReleaseOutboxClaimProcessor(Outbox outbox) {
        this.outbox = outbox;
    }

    @Override
    @SuppressWarnings("unchecked")
    public void process(Exchange exchange) {
        List<Outbox.Claimed> claimed = exchange.getProperty(ClaimOutboxBatchProcessor.CLAIM, List.class);
        Throwable cause = exchange.getProperty(Exchange.EXCEPTION_CAUGHT, Throwable.class);
        LOG.warn("evidence relay: {} events stay in the outbox ({})", claimed == null ? 0 : claimed.size(),
                cause == null ? "unknown" : cause.getClass().getSimpleName());
        if (claimed != null && !claimed.isEmpty()) {
            try {
                outbox.release(claimed);
            } catch (RuntimeException e) {
                LOG.warn("evidence relay: could not release claim ({}); it expires by itself",
                        e.getClass().getSimpleName());
            }
        }
    }
}
