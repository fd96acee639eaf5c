package attest.control;

import attest.Exchanges;
import attest.http.GatewayException;
import attest.evidence.Outcome;
import attest.identity.Identity;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;

/**
 * Refuses (403) a caller without the rules administrator's role ({@code attest.rules.admin-role}) and any method
 * but POST (405); sets nothing otherwise. The 405 is not dead behind {@code CheckMethodProcessor}: camel-netty-http
 * gives {@code /rules/reload//} to this route, a path the method check does not know (UnusualMethodsHostileTest).
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
