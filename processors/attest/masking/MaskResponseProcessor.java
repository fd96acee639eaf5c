package attest.masking;

import attest.Exchanges;
import attest.evidence.EvidenceAssembler;
import attest.http.GatewayException;
import attest.evidence.Outcome;
import attest.identity.Identity;
import attest.ingress.UpstreamTarget;
import attest.upstream.StreamRelay;
import attest.upstream.UpstreamResponse;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;

import java.util.Optional;

/**
 * Masks the upstream's answer before it is released: replaces a buffered body in
 * {@code attestUpstreamResponse} with its masked form, or installs the stream masker on a stream; both
 * chosen by {@link AnswerMasker} from the answer's content type, so a held call's event stream (executed
 * buffered after approval) is masked exactly as a live one. Records what
 * was hidden (or that the caller is exempt) in {@code attestMasking}. A block rule refuses the answer (403);
 * a masking failure withholds it (502), or cuts the stream: nothing unmasked goes out.
 */
public class MaskResponseProcessor implements Processor {
    private final MaskingService service;

    public MaskResponseProcessor(MaskingService service) {
        this.service = service;
    }

    private byte[] guarded(java.util.function.Supplier<byte[]> pass) {
        try {
            return service.run(pass);
        } catch (BlockedException e) {
            throw new StreamRelay.Cut(Outcome.BLOCKED);
        } catch (MaskingFailedException e) {
            throw new StreamRelay.Cut(Outcome.MASKING_FAILED);
        }
    }

    @Override
    public void process(Exchange exchange) {
        UpstreamResponse up = exchange.getProperty(Exchanges.UPSTREAM_RESPONSE, UpstreamResponse.class);
        UpstreamTarget target = exchange.getProperty(Exchanges.TARGET, UpstreamTarget.class);
        Optional<MaskingRuleSet> found = service.ruleSetFor(target.upstream().name(), target.path())
                .filter(MaskingRuleSet::responses);
        if (found.isEmpty() || up == null) {
            return;
        }
        MaskingRuleSet rules = found.get();
        Identity who = exchange.getProperty(Exchanges.IDENTITY, Identity.class);
        boolean exempt = who != null && rules.exemptRoles().stream().anyMatch(who::hasRole);
        MaskingOutcome outcome = new MaskingOutcome(rules.id(), exempt);
        exchange.setProperty(Exchanges.MASKING, outcome);
        if (exempt) {
            return;
        }
        if (up.streaming()) {
            // what the masker may hold at a time is bounded (attest.masking.max-held-bytes): past it the stream is cut
            AnswerMasker.Streaming sse = AnswerMasker.streaming(up.header("Content-Type"),
                    rules.masker().withStreamLimit(service.streamLimit()), outcome::add);
            // the masker reads a declared charset and writes UTF-8: the caller is told so, so every reader reads
            // what the masker read
            exchange.setProperty(Exchanges.UPSTREAM_RESPONSE, new UpstreamResponse(up.status(),
                    labelled(up, AnswerMasker.streamContentType(up.header("Content-Type"))), up.body(), up.stream(),
                    up.firstByteAt()));
            up.stream().transform(new StreamRelay.Transform() {
                @Override
                public byte[] push(byte[] raw) {
                    return guarded(() -> sse.push(raw));
                }

                @Override
                public byte[] finish() {
                    return guarded(sse::finish);
                }

                @Override
                public byte[] abandon() {
                    // what the masker can still release at a break-off (a waiting finishing chunk, its final text
                    // masked); the rest it holds is dropped and reported. A failure here cuts it like any other
                    return guarded(sse::abandon);
                }
            });
            return;
        }
        byte[] raw = up.body() == null ? new byte[0] : up.body();
        outcome.rawBody(raw, EvidenceAssembler.sha256(raw));
        byte[] masked;
        try {
            // the same maskers as a live answer: an event stream buffered for a held call is masked as a stream
            // and held to the same bound on what its maskers hold (attest.masking.max-held-bytes)
            masked = service.run(() -> AnswerMasker.mask(raw, up.header("Content-Type"),
                    rules.masker().withStreamLimit(service.streamLimit()), outcome::add));
        } catch (BlockedException e) {
            throw new GatewayException(403, "response_blocked",
                    "the answer was refused: it contains " + e.entityType(), Outcome.BLOCKED);
        } catch (MaskingFailedException e) {
            throw new GatewayException(502, "masking_failed", "the answer could not be masked and was withheld",
                    Outcome.MASKING_FAILED);
        }
        // a held call's event stream read whole is written as UTF-8 like a live one: the caller (and the stored result)
        // is told so
        exchange.setProperty(Exchanges.UPSTREAM_RESPONSE, new UpstreamResponse(up.status(),
                labelled(up, AnswerMasker.maskedContentType(up.header("Content-Type"))), masked, null, up.firstByteAt()));
    }

    /** The upstream's headers with its Content-Type replaced by {@code contentType} (when it differs). */
    private static java.util.List<java.util.Map.Entry<String, String>> labelled(UpstreamResponse up, String contentType) {
        if (contentType == null || contentType.equals(up.header("Content-Type"))) {
            return up.headers();
        }
        java.util.List<java.util.Map.Entry<String, String>> headers = new java.util.ArrayList<>();
        for (java.util.Map.Entry<String, String> h : up.headers()) {
            headers.add(h.getKey().equalsIgnoreCase("Content-Type") ? java.util.Map.entry(h.getKey(), contentType) : h);
        }
        return headers;
    }
}
