package attest.audit;

import attest.http.GatewayException;
import attest.evidence.Outcome;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;

/**
 * Refuses (503) every answer read from the evidence store for auditors or callers (the /audit reports, a record's
 * receipt at {@code GET /evidence/{id}/proof}, the key list at {@code GET /keys}) while the store's read path is not
 * the migrations' own, or could not be checked ({@link ReadPathWatch}); sets nothing otherwise. The caller is told which of the two, and never which object
 * changed, nor any SQL: a schema, function or policy name could be one the auditor's login cannot see otherwise. The
 * gateway's log names it for the operator.
 */
public class CheckAuditReadPathProcessor implements Processor {
    private final java.util.function.Supplier<ReadPathWatch.State> watch;

    public CheckAuditReadPathProcessor(ReadPathWatch watch) {
        this(watch::state);
    }

    /** Over any source of the watch's answers (route tests set it). */
    public CheckAuditReadPathProcessor(java.util.function.Supplier<ReadPathWatch.State> watch) {
        this.watch = watch;
    }

    @Override
    public void process(Exchange exchange) {
        ReadPathWatch.Status status = watch.get().status();
        if (status == ReadPathWatch.Status.SERVING) {
            return;
        }
        if (status == ReadPathWatch.Status.CHANGED) {
            throw new GatewayException(503, "read_path_changed", "answers from the evidence store are withheld: it is "
                    + "no longer read as its migrations made it (a view, table, policy or function on the auditors' "
                    + "read path was changed); the gateway's log names the object for the operator",
                    Outcome.EVIDENCE_UNAVAILABLE);
        }
        throw new GatewayException(503, "read_path_unchecked", "answers from the evidence store are withheld: the "
                + "gateway could not check how the store is read (the store is unavailable, or the gateway's login "
                + "may not create temporary views); the gateway's log says why", Outcome.EVIDENCE_UNAVAILABLE);
    }
}
