package attest.usage;

import java.util.concurrent.atomic.AtomicLong;

/**
 * One call's token usage as it becomes known: from a buffered answer at once, from a stream when its usage event
 * passes (the last report wins, as OpenAI streams send it once at the end). When the upstream reports nothing,
 * the usage is {@code unknown}; the meter still counts the bytes exchanged, from which a budget charges an
 * estimate (about four bytes a token), recorded as an estimate, never as reported usage.
 */
public final class UsageMeter {
    public static final String REPORTED = "reported";
    public static final String UNKNOWN = "unknown";
    private static final int BYTES_PER_TOKEN = 4;

    private volatile TokenUsage reported;
    private final AtomicLong bytes = new AtomicLong();

    public void report(TokenUsage usage) {
        if (usage != null) {
            reported = usage;
        }
    }

    public void countBytes(long n) {
        if (n > 0) {
            bytes.addAndGet(n);
        }
    }

    public TokenUsage reported() {
        return reported;
    }

    public String status() {
        return reported == null ? UNKNOWN : REPORTED;
    }

    /** The gateway's estimate when nothing was reported (null otherwise). */
    public Long estimate() {
        return reported == null ? (bytes.get() + BYTES_PER_TOKEN - 1) / BYTES_PER_TOKEN : null;
    }

    /** What budgets and token limits are charged: the reported tokens, else the estimate. */
    public long billable() {
        TokenUsage u = reported;
        return u != null ? u.billable() : estimate();
    }
}
