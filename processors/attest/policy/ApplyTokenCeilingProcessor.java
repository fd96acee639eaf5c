package attest.policy;

import attest.Exchanges;
import attest.http.InboundRequest;
import attest.ingress.UpstreamTarget;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;

/**
 * A call that names no token limit (absent or {@code null}) is never unlimited: when the matched ALLOW or
 * REVIEW rule has a ceiling, its {@code default-max-tokens} (else its {@code max-tokens}) is written into the
 * body, and that body is what the rest of the path sees, masks, holds and forwards ({@code attestInbound}'s
 * body and {@code attestForwardBody}; the evidence keeps the body as received and the forwarded digest).
 * The facts then carry that limit, so risk rules such as {@code max-tokens-above} judge what will be asked.
 */
public class ApplyTokenCeilingProcessor implements Processor {
    private static final java.util.regex.Pattern RESPONSES_API = java.util.regex.Pattern.compile("(?:/.*)?/responses/?");
    private final PolicyEngine policy;

    public ApplyTokenCeilingProcessor(PolicyEngine policy) {
        this.policy = policy;
    }

    @Override
    public void process(Exchange exchange) {
        Decision d = exchange.getProperty(Exchanges.DECISION, Decision.class);
        RequestFacts facts = exchange.getProperty(Exchanges.FACTS, RequestFacts.class);
        if (d == null || d.verdict() == Verdict.DENY || facts == null || facts.maxTokens() != null
                || !facts.jsonObject()) {
            return;
        }
        Long limit = policy.rule(d.ruleId()).map(PolicyRule::injectedMaxTokens).orElse(null);
        if (limit == null) {
            return;
        }
        InboundRequest in = exchange.getProperty(Exchanges.INBOUND, InboundRequest.class);
        RequestBodyJson.Parsed parsed = RequestBodyJson.parse(exchange, in.body());
        if (!(parsed.root() instanceof ObjectNode root)) {
            throw new IllegalStateException("facts say JSON object, the body is not one");
        }
        UpstreamTarget target = exchange.getProperty(Exchanges.TARGET, UpstreamTarget.class);
        boolean responses = target != null && RESPONSES_API.matcher(target.path()).matches();
        // the new body's parse is kept with it: the steps after (risk, masking) read it without parsing again
        RequestBodyJson.Cached limited = RequestBodyJson.limited(root, responses, limit);
        byte[] body = limited.body();
        exchange.setProperty(Exchanges.REQUEST_JSON, limited);
        exchange.setProperty(Exchanges.INBOUND, new InboundRequest(in.method(), in.uri(), in.headers(), body,
                in.sourceAddress()));
        exchange.setProperty(Exchanges.FORWARD_BODY, body);
        exchange.setProperty(Exchanges.FACTS, facts.withMaxTokens(limit));
    }
}
