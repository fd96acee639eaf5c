package attest.usage;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.temporal.ChronoUnit;

/**
 * One budget or limit on one subject: at most {@code max} of a metric per period.
 *
 * @param name   what the caller is told ("the token budget of key 3f2a...", "requests per minute of user alice")
 * @param ruleId the id recorded as the refusal's rule ({@code key-budget}, {@code user-limit:<id>}, a policy rule)
 * @param scope  the counter's subject: {@code key:<id>}, {@code user:<subject>}, {@code group:<path>},
 *               {@code rule:<rule>|<subject>}
 * @param metric {@link #REQUESTS} (counted when admitted), {@link #TOKENS} or {@link #COST} (micro-units), both
 *               charged when the answer's usage is known
 * @param period {@code minute}, {@code day} or {@code month} (UTC)
 */
public record Limit(String name, String ruleId, String scope, String metric, String period, long max) {
    public static final String REQUESTS = "requests";
    public static final String TOKENS = "tokens";
    public static final String COST = "cost_micros";
    /** The metrics and periods a limit may have: made once (limits are made per call, by rate checks and budgets). */
    private static final java.util.Set<String> METRICS = java.util.Set.of(REQUESTS, TOKENS, COST);
    private static final java.util.Set<String> PERIODS = java.util.Set.of("minute", "day", "month");

    public Limit {
        if (!METRICS.contains(metric)) {
            throw new IllegalArgumentException("unknown metric " + metric);
        }
        if (!PERIODS.contains(period)) {
            throw new IllegalArgumentException("period is minute, day or month");
        }
        if (max < 0) {
            throw new IllegalArgumentException("a limit is >= 0");
        }
    }

    public boolean countsRequests() {
        return REQUESTS.equals(metric);
    }

    /** The start of the period that contains {@code at}. */
    public Instant windowStart(Instant at) {
        ZonedDateTime t = at.atZone(ZoneOffset.UTC);
        return switch (period) {
            case "minute" -> t.truncatedTo(ChronoUnit.MINUTES).toInstant();
            case "day" -> t.truncatedTo(ChronoUnit.DAYS).toInstant();
            default -> t.truncatedTo(ChronoUnit.DAYS).withDayOfMonth(1).toInstant();
        };
    }

    /** The end of the period that contains {@code at} (when the limit resets). */
    public Instant windowEnd(Instant at) {
        ZonedDateTime s = windowStart(at).atZone(ZoneOffset.UTC);
        return switch (period) {
            case "minute" -> s.plusMinutes(1).toInstant();
            case "day" -> s.plusDays(1).toInstant();
            default -> s.plusMonths(1).toInstant();
        };
    }

    /** In words, for the refusal: "1000 tokens per day". */
    public String describe() {
        String what = switch (metric) {
            case REQUESTS -> max + " requests";
            case TOKENS -> max + " tokens";
            default -> Prices.amount(max) + " in cost";
        };
        return what + " per " + period;
    }
}
