package attest.ops;

import attest.http.GatewayException;
import attest.evidence.Outcome;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;

/**
 * Refuses a call with 503 once the instance drains and has stopped accepting calls (SIGTERM); the caller is told
 * to try another instance, and the refusal is recorded like any other. Sets nothing otherwise.
 */
public class CheckDrainingProcessor implements Processor {
    private final Drain drain;

    public CheckDrainingProcessor(Drain drain) {
        this.drain = drain;
    }

    @Override
    public void process(Exchange exchange) {
        if (drain.refusing()) {
            throw new GatewayException(503, "shutting_down", "this gateway instance is shutting down; retry",
                    Outcome.ABORTED, java.util.Map.of("Retry-After", "1"));
        }
    }
}
