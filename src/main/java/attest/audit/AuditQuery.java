package attest.audit;

import java.time.Instant;

/**
 * One report request: which report, the time range, filters, page and format.
 *
 * @param report   access, denials, approvals, redactions or completeness
 * @param from     inclusive (null: no lower bound)
 * @param to       exclusive (null: no upper bound)
 * @param identity username or subject (null: any)
 * @param upstream upstream name (null: any)
 * @param outcome  outcome or approval state (null: any)
 * @param page     0-based
 * @param size     rows per page (1 to 1000)
 * @param csv      CSV instead of JSON
 */
public record AuditQuery(String report, Instant from, Instant to, String identity, String upstream, String outcome,
                         int page, int size, boolean csv) {
}
