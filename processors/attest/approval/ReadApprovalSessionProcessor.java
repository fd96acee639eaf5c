package attest.approval;

import attest.Exchanges;
import attest.http.InboundRequest;
import attest.identity.TokenValidator;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;

/**
 * For the approval page: sets {@code attestIdentity} and {@code attestApprovalSession} from the session
 * cookie, when the session exists and has not expired (it ends when the access token it was started with would
 * have). Sets nothing otherwise; the route then starts a sign-in.
 */
public class ReadApprovalSessionProcessor implements Processor {
    public static final String COOKIE = "attest_approval_session";
    public static final String SESSION = "attestApprovalSession";

    private final ApprovalSessions sessions;
    private final TokenValidator validator;

    public ReadApprovalSessionProcessor(ApprovalSessions sessions, TokenValidator validator) {
        this.sessions = sessions;
        this.validator = validator;
    }

    @Override
    public void process(Exchange exchange) {
        InboundRequest in = exchange.getProperty(Exchanges.INBOUND, InboundRequest.class);
        String id = cookie(in, COOKIE);
        if (id == null) {
            return;
        }
        sessions.session(id).ifPresent(s -> {
            exchange.setProperty(Exchanges.IDENTITY, s.identity());
            exchange.setProperty(SESSION, s);
        });
    }

    static String cookie(InboundRequest in, String name) {
        for (String header : in.headerValues("Cookie")) {
            for (String part : header.split(";")) {
                String p = part.strip();
                if (p.startsWith(name + "=")) {
                    return p.substring(name.length() + 1);
                }
            }
        }
        return null;
    }
}
