package attest.evidence;

import attest.Exchanges;
import attest.http.InboundRequest;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;

import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Sets header {@code attestProofRecordId} for {@code GET /evidence/{record id}/proof}; removes it otherwise. */
public class ReadProofPathProcessor implements Processor {
    public static final String RECORD_ID = "attestProofRecordId";
    private static final Pattern PATH = Pattern.compile("^/evidence/([0-9a-fA-F-]{36})/proof$");

    @Override
    public void process(Exchange exchange) {
        InboundRequest in = exchange.getProperty(Exchanges.INBOUND, InboundRequest.class);
        exchange.getMessage().removeHeader(RECORD_ID);
        Matcher m = PATH.matcher(in.uri());
        if (m.matches() && "GET".equals(in.method())) {
            try {
                exchange.getMessage().setHeader(RECORD_ID, UUID.fromString(m.group(1)));
            } catch (IllegalArgumentException e) {
                // not a record id: left unset, the route answers 404
            }
        }
    }
}
