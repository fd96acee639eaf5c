package attest.audit;

import attest.http.GatewayException;
import attest.http.Outcomes;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;

/**
 * Refuses (503) every /audit answer while the evidence store's read path is not the migrations' own, or could not be
 * checked ({@link ReadPathWatch}); sets nothing otherwise. The caller is told which of the two, and never which object
 * changed, nor any SQL: a schema, function or policy name could be one the auditor's login cannot see otherwise. The
 * gateway's log names it for the operator.
 */
public class CheckAuditReadPathProcessor implements Processor {
    private final ReadPathWatch watch;

    public CheckAuditReadPathProcessor(ReadPathWatch watch) {
        this.watch = watch;
    }

    @Override
    public void process(Exchange exchange) {
        ReadPathWatch.Status status = watch.state().status();
        if (status == ReadPathWatch.Status.SERVING) {
            return;
        }
        if (status == ReadPathWatch.Status.CHANGED) {
            throw new GatewayException(503, "read_path_changed", "reports are withheld: the evidence store is no longer "
                    + "read as its migrations made it (a view, table, policy or function on the reports' read path was "
                    + "changed); the gateway's log names the object for the operator", Outcomes.EVIDENCE_UNAVAILABLE);
        }
        throw new GatewayException(503, "read_path_unchecked", "reports are withheld: the gateway could not check how "
                + "the evidence store is read (the store is unavailable, or the gateway's login may not create "
                + "temporary views); the gateway's log says why", Outcomes.EVIDENCE_UNAVAILABLE);
    }
}
