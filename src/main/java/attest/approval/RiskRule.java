package attest.approval;

import com.google.re2j.Pattern;

import java.time.DayOfWeek;
import java.time.Duration;
import java.time.LocalTime;
import java.time.ZoneId;
import java.util.List;
import java.util.Set;

/**
 * A risk rule from approval-flow/: when it matches a call that policy allowed, the call is held for
 * approval ({@code REVIEW}). Every match key present must match; inside a key, any value may.
 *
 * @param id                the rule id, recorded in the evidence and shown to approvers
 * @param reason            shown to approvers (and to the caller while the call is held)
 * @param roles             caller roles (any)
 * @param groups            caller groups (any)
 * @param clients           caller client ids (any)
 * @param upstreams         upstream names (any)
 * @param models            model globs (any); a rule with models never matches a call without one
 * @param prompt            linear-time patterns (RE2, case-insensitive) over the prompt text (any)
 * @param minBodyBytes      matches bodies at least this large
 * @param maxTokensAbove    matches calls asking for more than this many tokens
 * @param windows           time windows (any); empty means always
 * @param approverRole      the role that may approve (or null)
 * @param approverGroup     the group that may approve (or null)
 * @param approvalsRequired distinct approvals needed
 * @param ttl               how long the call may wait; expiry means deny
 */
public record RiskRule(String id, String reason, List<String> roles, List<String> groups, List<String> clients,
                       List<String> upstreams, List<java.util.regex.Pattern> models, List<Pattern> prompt,
                       Long minBodyBytes, Long maxTokensAbove, List<TimeWindow> windows, String approverRole,
                       String approverGroup, int approvalsRequired, Duration ttl) {

    /** Days and hours in a zone, for example weekends, or outside business hours. */
    public record TimeWindow(Set<DayOfWeek> days, LocalTime from, LocalTime to, ZoneId zone) {
        boolean contains(java.time.Instant at) {
            var local = at.atZone(zone);
            if (!days.isEmpty() && !days.contains(local.getDayOfWeek())) {
                return false;
            }
            LocalTime t = local.toLocalTime();
            // a window may run past midnight (22:00 to 06:00)
            return from.isBefore(to) || from.equals(to) ? !t.isBefore(from) && t.isBefore(to)
                    : !t.isBefore(from) || t.isBefore(to);
        }
    }
}
