package attest.evidence;

import org.apache.camel.Exchange;
import org.apache.camel.Processor;

/** Closes the chains and open records of instances whose lease expired; sets the body to the records closed. */
public class CloseDeadInstancesProcessor implements Processor {
    private final DeadInstanceCloser closer;

    public CloseDeadInstancesProcessor(DeadInstanceCloser closer) {
        this.closer = closer;
    }

    @Override
    public void process(Exchange exchange) {
        exchange.getMessage().setBody(closer.closeDead());
    }
}
