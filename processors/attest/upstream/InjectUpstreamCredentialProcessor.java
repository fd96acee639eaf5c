package attest.upstream;

import attest.Exchanges;
import attest.http.GatewayException;
import attest.http.ResponseHeaders;
import attest.identity.Identity;
import attest.ingress.UpstreamTarget;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;

/**
 * Adds to {@code attestForwardHeaders} the upstream's own credential, the request id and the caller's
 * subject (for correlation in upstream logs). Runs after stripping, so nothing can remove what it adds.
 * No credential, no call: a token that cannot be had fails the call with 502.
 */
public class InjectUpstreamCredentialProcessor implements Processor {
    private final String identityHeader;

    public InjectUpstreamCredentialProcessor(String identityHeader) {
        this.identityHeader = identityHeader;
    }

    /**
     * Whether injecting the credential may block this call (a short-lived upstream token to fetch, none usable):
     * the step is then bound to run off the event loop ({@code AttestConfiguration.blocking}).
     */
    public boolean blocks(Exchange exchange) {
        UpstreamTarget target = exchange.getProperty(Exchanges.TARGET, UpstreamTarget.class);
        return target != null && target.upstream().credential().blocks();
    }

    @Override
    public void process(Exchange exchange) {
        ForwardHeaders headers = exchange.getProperty(Exchanges.FORWARD_HEADERS, ForwardHeaders.class);
        UpstreamTarget target = exchange.getProperty(Exchanges.TARGET, UpstreamTarget.class);
        UpstreamCredential credential = target.upstream().credential();
        if (credential.headerName().isPresent()) {
            String value;
            try {
                value = credential.headerValue();
            } catch (OAuth2ClientCredential.UpstreamCredentialException e) {
                throw GatewayException.upstreamError("the gateway could not obtain a credential for the upstream");
            }
            headers.set(credential.headerName().get(), value);
        }
        headers.set(ResponseHeaders.REQUEST_ID, exchange.getProperty(Exchanges.REQUEST_ID, String.class));
        Identity identity = exchange.getProperty(Exchanges.IDENTITY, Identity.class);
        if (identity != null) {
            headers.set(identityHeader, identity.subject());
        }
    }
}
