package attest.keys;

import attest.Exchanges;
import attest.http.GatewayException;
import attest.evidence.Outcome;
import attest.http.ResponseHeaders;
import attest.identity.Identity;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.UUID;

/**
 * {@code DELETE /keys/{id}}: revokes the key (its owner, or the key admin role) and sets the body to the revoked
 * key. Anyone else gets 404, as for a key that does not exist; a key already revoked gets 409. Every replica
 * stops accepting it within its key cache time (at most 5 s). Revocation is evidence ({@code key.revoked}).
 */
public class RevokeKeyProcessor implements Processor {
    private final KeyStore store;
    private final String adminRole;
    private final Clock clock;

    public RevokeKeyProcessor(KeyStore store, String adminRole, Clock clock) {
        this.store = store;
        this.adminRole = adminRole;
        this.clock = clock;
    }

    @Override
    public void process(Exchange exchange) {
        Identity who = exchange.getProperty(Exchanges.IDENTITY, Identity.class);
        UUID id = exchange.getProperty(ReadKeyPathProcessor.KEY_ID, UUID.class);
        VirtualKey k = store.byId(id).orElse(null);
        if (k == null || !(k.ownerSubject().equals(who.subject()) || who.hasRole(adminRole))) {
            throw new GatewayException(404, "not_found", "no such key", Outcome.DENIED);
        }
        if (!store.revoke(id, CreateKeyProcessor.actor(who))) {
            throw new GatewayException(409, "conflict", "the key is already revoked", Outcome.DENIED);
        }
        VirtualKey revoked = store.byId(id).orElseThrow();
        exchange.getMessage().setHeader(Exchange.HTTP_RESPONSE_CODE, 200);
        ResponseHeaders.of(exchange).set(ResponseHeaders.CONTENT_TYPE, "application/json");
        ResponseHeaders.of(exchange).set(ResponseHeaders.CACHE_CONTROL, ResponseHeaders.NO_STORE);
        exchange.getMessage().setBody(KeyJson.view(revoked, clock.instant()).toString()
                .getBytes(StandardCharsets.UTF_8));
    }
}
