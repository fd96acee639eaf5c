package attest;

import attest.http.InboundRequest;
import attest.identity.Credential;
import attest.policy.Decision;
import attest.policy.Verdict;
import org.apache.camel.Predicate;
import org.apache.camel.spi.Registry;

/**
 * The data path's content-based routers' conditions, as named predicates that routes use with the {@code ref}
 * language ({@code ref: verdictAllow}). They read the exchange properties the processors set, without the
 * per-call reflection of a simple-language OGNL path ({@code ${exchangeProperty.attestDecision.verdictName}}),
 * which cost about 5% of the gateway's CPU per call in the saturated benchmark. An absent property never matches,
 * so every choice falls through to its denying {@code otherwise}.
 */
public final class RoutePredicates {
    /** A requester's own held call: {@code /approvals/...} on the data plane. */
    public static final Predicate APPROVAL_PATH = e -> path(e.getProperty(Exchanges.INBOUND, InboundRequest.class))
            .startsWith("/approvals/");
    /** Any other path on the data plane: an inference call. */
    public static final Predicate INFERENCE_PATH = e -> {
        InboundRequest in = e.getProperty(Exchanges.INBOUND, InboundRequest.class);
        // as the route's old regex '^(?!/approvals/).*' did: a line break never matches
        return in != null && in.uri() != null && !in.uri().startsWith("/approvals/")
                && in.uri().indexOf('\n') < 0 && in.uri().indexOf('\r') < 0;
    };
    public static final Predicate VERDICT_ALLOW = e -> verdict(e.getProperty(Exchanges.DECISION, Decision.class),
            Verdict.ALLOW);
    public static final Predicate VERDICT_REVIEW = e -> verdict(e.getProperty(Exchanges.DECISION, Decision.class),
            Verdict.REVIEW);
    public static final Predicate CREDENTIAL_TOKEN = e -> kind(e.getProperty(Exchanges.CREDENTIAL, Credential.class),
            "token");
    public static final Predicate CREDENTIAL_KEY = e -> kind(e.getProperty(Exchanges.CREDENTIAL, Credential.class),
            "key");

    private RoutePredicates() {
    }

    /** Binds every predicate under the name the routes use. */
    public static void bindAll(Registry registry) {
        registry.bind("approvalPath", APPROVAL_PATH);
        registry.bind("inferencePath", INFERENCE_PATH);
        registry.bind("verdictAllow", VERDICT_ALLOW);
        registry.bind("verdictReview", VERDICT_REVIEW);
        registry.bind("credentialToken", CREDENTIAL_TOKEN);
        registry.bind("credentialKey", CREDENTIAL_KEY);
    }

    private static String path(InboundRequest in) {
        return in == null || in.uri() == null ? "" : in.uri();
    }

    private static boolean verdict(Decision d, Verdict v) {
        return d != null && d.verdict() == v;
    }

    private static boolean kind(Credential c, String kind) {
        return c != null && kind.equals(c.kind());
    }
}
