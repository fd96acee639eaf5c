package attest.evidence.chain;

import attest.evidence.EvidenceRecord;
import attest.evidence.RecordView;

import java.time.Instant;
import java.util.Map;

/**
 * What of a call's evidence record goes into the chain: every field except the bodies, which the chain
 * covers by their SHA-256 digests (of the plaintext), so that purging a body never breaks verification. The members
 * and what the chain carries of them are {@link RecordView}'s, which the Kafka event is written from too.
 * A forwarded call appears twice: {@code call.open} before forwarding and {@code call.terminal} at its end;
 * a refused call once, terminal.
 */
public final class ChainRecords {
    private ChainRecords() {
    }

    public static EvidenceChain.Entry call(EvidenceRecord r, Instant at) {
        String kind = EvidenceRecord.TERMINAL.equals(r.getState()) ? "call.terminal" : "call.open";
        return new EvidenceChain.Entry(kind, r.getId(), at, body(r));
    }

    /** The record's body as {@link RecordView#chainBody} renders it (the one view its Kafka event is written from too). */
    static Map<String, Object> body(EvidenceRecord r) {
        return RecordView.chainBody(r);
    }
}
