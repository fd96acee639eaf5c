package attest.control;

import attest.Exchanges;
import attest.http.GatewayException;
import attest.http.InboundRequest;
import attest.http.RefusedRequest;
import attest.http.ResponseHeaders;
import attest.identity.Identity;
import attest.identity.InvalidTokenException;
import attest.ingress.RequestIds;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;

import java.util.function.Consumer;

/**
 * Records a control-plane route's refusal of the request itself as the door records its own
 * ({@link RefusedRequest}, handed to the gateway's refusal recorder: one by one up to the source's share of the
 * window, then counted, so a token-less flood of them cannot fill the store): a caller not established (401: no
 * token, a bad one, a failed sign-in), not entitled (403 {@code forbidden}: a role, the approval page's session or
 * CSRF token, a key's scope), or a method the path does not serve (405). The refusal gets the gateway's own request
 * id, named in the answer's {@code X-Request-Id}, and names who was refused when the token was valid. Other errors
 * are not refusals of this kind (a 404, a 409), or are recorded where they happen (an approval decision's 403s,
 * {@code self_approval}, {@code not_an_approver}...: the approval store's refused decisions).
 * Runs after the error is rendered ({@code attestError}); sets only that header.
 */
public class RecordRefusalProcessor implements Processor {
    private final Consumer<RefusedRequest> recorder;

    public RecordRefusalProcessor(Consumer<RefusedRequest> recorder) {
        this.recorder = recorder;
    }

    @Override
    public void process(Exchange exchange) {
        GatewayException error = exchange.getProperty(Exchanges.ERROR, GatewayException.class);
        InboundRequest in = exchange.getProperty(Exchanges.INBOUND, InboundRequest.class);
        if (error == null || in == null || !refusal(error)) {
            return;
        }
        String rid = RequestIds.mint();
        ResponseHeaders.of(exchange).set(ResponseHeaders.REQUEST_ID, rid);
        Identity who = exchange.getProperty(Exchanges.IDENTITY, Identity.class);
        String authError = error instanceof InvalidTokenException bad ? bad.reason() : null;
        recorder.accept(new RefusedRequest(error.status(), error.code(), error.getMessage(), in.method(),
                RefusedRequest.boundTarget(in.uri()), in.sourceAddress(), rid, declared(in), null, authError,
                who == null ? null : who.subject()));
    }

    static boolean refusal(GatewayException error) {
        return error.status() == 401 || error.status() == 405
                || (error.status() == 403 && "forbidden".equals(error.code()));
    }

    private static Long declared(InboundRequest in) {
        String v = in.header("Content-Length");
        try {
            long n = v == null ? -1 : Long.parseLong(v.trim());
            return n < 0 ? null : n;
        } catch (NumberFormatException e) {
            return null;
        }
    }
}
