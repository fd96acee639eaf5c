package attest.audit;

import attest.Exchanges;
import attest.http.GatewayException;
import attest.evidence.Outcome;
import attest.identity.Identity;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;

/** Refuses (403) a caller without the auditor role ({@code attest.audit.role}); sets nothing otherwise. */
public class CheckAuditorProcessor implements Processor {
    private final String role;

    public CheckAuditorProcessor(String role) {
        this.role = role;
    }

    @Override
    public void process(Exchange exchange) {
        Identity who = exchange.getProperty(Exchanges.IDENTITY, Identity.class);
        if (who == null || !who.hasRole(role)) {
            throw new GatewayException(403, "forbidden", "reports are for the " + role + " role", Outcome.DENIED);
        }
    }
}
