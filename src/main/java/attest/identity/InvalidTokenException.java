package attest.identity;

import attest.http.GatewayException;
import attest.evidence.Outcome;

import java.util.Map;

/**
 * A missing or invalid bearer token: always 401 with a generic body, whatever the reason.
 * The reason stays inside the gateway (evidence and debug logs), never in the response.
 */
public class InvalidTokenException extends GatewayException {
    private final String reason;

    public InvalidTokenException(String reason) {
        super(401, "invalid_token", "the access token is missing or invalid", Outcome.UNAUTHENTICATED,
                Map.of("WWW-Authenticate", "Bearer error=\"invalid_token\""));
        this.reason = reason;
    }

    /** Why the token was refused; safe to record (never contains the token). */
    public String reason() {
        return reason;
    }
}
