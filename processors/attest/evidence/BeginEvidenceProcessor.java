package attest.evidence;

import attest.Exchanges;
import attest.http.InboundRequest;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;

import java.time.Instant;

/** Sets {@code attestEvidence}: a new evidence record for this call (not yet written). */
public class BeginEvidenceProcessor implements Processor {
    private final EvidenceAssembler assembler;

    public BeginEvidenceProcessor(EvidenceAssembler assembler) {
        this.assembler = assembler;
    }

    @Override
    public void process(Exchange exchange) {
        exchange.setProperty(Exchanges.EVIDENCE, assembler.begin(exchange.getProperty(Exchanges.REQUEST_ID, String.class),
                exchange.getProperty(Exchanges.RECEIVED_AT, Instant.class),
                exchange.getProperty(Exchanges.INBOUND, InboundRequest.class)));
    }
}
