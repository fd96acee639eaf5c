package attest.keys;

import attest.Exchanges;
import attest.http.InboundRequest;
import attest.http.ResponseHeaders;
import attest.identity.Identity;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;

import java.nio.charset.StandardCharsets;
import java.time.Clock;

/**
 * {@code POST /keys}: creates a key owned by the caller (a person or a service account, proven by a Keycloak
 * token; a key cannot create keys) and sets the 201 body with the secret, shown this once. Refused: a caller
 * without a key-creating role (403); a body that names an owner, or anything unknown (400); then the rules of
 * {@link KeyIssuer} (the same as {@code attest keys create}): an upstream that is not configured (400) or that no
 * policy rule lets the owner call (403); limits above the owner's own (403); more than the most live keys (409).
 * Creation is evidence (chain entry {@code key.created}).
 */
public class CreateKeyProcessor implements Processor {
    private final KeyIssuer issuer;
    private final Clock clock;

    public CreateKeyProcessor(KeyIssuer issuer, Clock clock) {
        this.issuer = issuer;
        this.clock = clock;
    }

    @Override
    public void process(Exchange exchange) {
        Identity who = exchange.getProperty(Exchanges.IDENTITY, Identity.class);
        issuer.checkOwner(who);
        InboundRequest in = exchange.getProperty(Exchanges.INBOUND, InboundRequest.class);
        KeyJson.Request req = KeyJson.read(in.body(), issuer.defaultLifetime(), issuer.maxLifetime());
        KeyStore.Created created = issuer.issue(who, req, actor(who));
        ObjectNode body = KeyJson.view(created.key(), clock.instant());
        body.put("key", created.secret());
        exchange.getMessage().setHeader(Exchange.HTTP_RESPONSE_CODE, 201);
        ResponseHeaders.of(exchange).set(ResponseHeaders.CONTENT_TYPE, "application/json");
        ResponseHeaders.of(exchange).set(ResponseHeaders.CACHE_CONTROL, ResponseHeaders.NO_STORE);
        ResponseHeaders.of(exchange).set("Location", "/keys/" + created.key().id());
        exchange.getMessage().setBody(body.toString().getBytes(StandardCharsets.UTF_8));
    }

    static String actor(Identity who) {
        return who.username() != null ? who.username() : who.subject();
    }
}
