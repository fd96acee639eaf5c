package attest.control;

import attest.Exchanges;
import attest.http.GatewayException;
import attest.evidence.Outcome;
import attest.identity.Identity;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;

/**
 * Refuses (403) a caller without the rules administrator's role ({@code attest.rules.admin-role}) and any method
 * but POST (405); sets nothing otherwise. {@code CheckMethodProcessor} runs first and answers the same 405 for every
 * spelling of the path it names, and 400 for one that does not normalise ({@code /rules/reload//}, which
 * camel-netty-http still gives to this route); this 405 is kept as the route's own second check.
 */
public class CheckRulesAdminProcessor implements Processor {
    private final String role;

    public CheckRulesAdminProcessor(String role) {
        this.role = role;
    }

    @Override
    public void process(Exchange exchange) {
        Identity who = exchange.getProperty(Exchanges.IDENTITY, Identity.class);
        if (who == null || !who.hasRole(role)) {
            throw new GatewayException(403, "forbidden", "reloading rules is for the " + role + " role",
                    Outcome.DENIED);
        }
        attest.http.InboundRequest in = exchange.getProperty(Exchanges.INBOUND, attest.http.InboundRequest.class);
        if (in == null || !"POST".equals(in.method())) {
            throw new GatewayException(405, "method_not_allowed", "use POST", Outcome.DENIED);
        }
    }
}
