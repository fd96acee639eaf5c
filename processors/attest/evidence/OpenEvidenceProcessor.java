package attest.evidence;

import attest.Exchanges;
import attest.http.GatewayException;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;

import java.time.Clock;

/**
 * Commits the call's record as {@code open} before anything is forwarded. If the store is down the call
 * stops here with 503, so an upstream is never called without evidence.
 */
public class OpenEvidenceProcessor implements Processor {
    private final EvidenceAssembler assembler;
    private final EvidenceWriter writer;
    private final Clock clock;

    public OpenEvidenceProcessor(EvidenceAssembler assembler, EvidenceWriter writer, Clock clock) {
        this.assembler = assembler;
        this.writer = writer;
        this.clock = clock;
    }

    @Override
    public void process(Exchange exchange) {
        EvidenceRecord r = exchange.getProperty(Exchanges.EVIDENCE, EvidenceRecord.class);
        assembler.fill(r, exchange);
        r.setForwardedAt(clock.instant());
        r.setState(EvidenceRecord.OPEN);
        try {
            if (exchange.getProperty(Exchanges.EVIDENCE_WRITTEN, false, Boolean.class)) {
                writer.update(r, null); // a held call, executed after approval: its record exists
            } else {
                writer.insert(r, null);
            }
        } catch (EvidenceUnavailableException e) {
            r.setForwardedAt(null);
            throw GatewayException.evidenceUnavailable();
        }
        exchange.setProperty(Exchanges.EVIDENCE_WRITTEN, true);
    }
}
