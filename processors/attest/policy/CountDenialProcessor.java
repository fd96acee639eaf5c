package attest.policy;

import attest.Exchanges;
import attest.identity.Credential;
import attest.identity.Identity;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;

import java.time.Clock;

/**
 * Counts a refused call against its caller ({@link DenialLimiter}): its token's subject, or its virtual key. A call
 * is refused when its answer is a 4xx the gateway rendered: policy's 403/413/429 ({@code policy-deny}) and the error
 * path's 400, 404, 415, ... ({@code inference-errors}); a 5xx is the gateway's or the upstream's fault, not the
 * caller's, and is not counted. Neither is a call told to wait for its own earlier calls rather than refused: 429
 * {@code too_many_held_calls} (the caller has as many calls waiting for approval as it may): a caller with many pending
 * approvals is not probing the policy, and counting it would lock it out of the calls it may still make
 * ({@code too_many_denials}) as if it were attacking. A call with no verified caller is not counted (it was refused
 * at the door, 401). A virtual key's count keeps the key's id and owner beside it (the door's refusal names them).
 * Sets nothing on the exchange; the limiter's count is its one job.
 */
public class CountDenialProcessor implements Processor {
    /** Error codes (4xx) that ask the caller to wait for its own calls, not refusals of its request. */
    static final java.util.Set<String> NOT_DENIALS = java.util.Set.of("too_many_held_calls");
    private final DenialLimiter denials;
    private final Clock clock;

    public CountDenialProcessor(DenialLimiter denials, Clock clock) {
        this.denials = denials;
        this.clock = clock;
    }

    @Override
    public void process(Exchange exchange) {
        Integer status = exchange.getMessage().getHeader(Exchange.HTTP_RESPONSE_CODE, Integer.class);
        if (!denials.enabled() || status == null || status < 400 || status >= 500) {
            return;
        }
        if (exchange.getProperty(Exchanges.ERROR) instanceof attest.http.GatewayException e
                && NOT_DENIALS.contains(e.code())) {
            return;
        }
        Credential c = exchange.getProperty(Exchanges.CREDENTIAL, Credential.class);
        Identity id = exchange.getProperty(Exchanges.IDENTITY, Identity.class);
        if (c == null || id == null) {
            return;
        }
        if (!Credential.KEY.equals(c.kind())) {
            denials.denied(DenialLimiter.subject(id.subject()), clock.millis());
            return;
        }
        // the key was resolved by now: its id and owner are kept beside its digest's count, so that the door's
        // refusal names it as this call's evidence does (key_id, and the owner as subject)
        attest.keys.VirtualKey key = exchange.getProperty(Exchanges.KEY, attest.keys.VirtualKey.class);
        denials.denied(DenialLimiter.key(c.value()),
                key == null || key.id() == null ? null : new DenialLimiter.KeyName(key.id(), id.subject()), clock.millis());
    }
}
