package attest.approval;

import attest.Exchanges;
import attest.http.GatewayException;
import attest.evidence.Outcome;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Optional;

/**
 * Checks an approved held call against the digest in its {@code approval.held} evidence-chain entry, not only
 * against the digest column of its own (mutable) row: whoever rewrites the stored request and its digest
 * together is still caught. A call whose chained digest is missing, unlinked or different is refused (409,
 * flagged) and not executed. Sets nothing.
 */
public class CheckChainedDigestProcessor implements Processor {
    private final ApprovalStore store;

    public CheckChainedDigestProcessor(ApprovalStore store) {
        this.store = store;
    }

    @Override
    public void process(Exchange exchange) {
        Approval a = exchange.getProperty(Exchanges.APPROVAL, Approval.class);
        String actual = HeldRequest.digest(a.method(), a.requestUri(), a.requestHeaders(), a.requestBody());
        Optional<String> chained = store.chainedDigest(a.id());
        if (chained.isEmpty() || !MessageDigest.isEqual(chained.get().getBytes(StandardCharsets.US_ASCII),
                actual.getBytes(StandardCharsets.US_ASCII))) {
            throw new GatewayException(409, "held_request_tampered", "the held request no longer matches the "
                    + "request that was approved; it was not executed", Outcome.DENIED);
        }
    }
}
