package attest.evidence;

import attest.evidence.chain.Checkpoints;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;

/** Signs and stores a checkpoint of the instance's evidence chain when one is due; sets the body to it (or null). */
public class SignCheckpointProcessor implements Processor {
    private final Checkpoints checkpoints;

    public SignCheckpointProcessor(Checkpoints checkpoints) {
        this.checkpoints = checkpoints;
    }

    @Override
    public void process(Exchange exchange) {
        exchange.getMessage().setBody(checkpoints.signIfDue().orElse(null));
    }
}
