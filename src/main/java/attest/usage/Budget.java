package attest.usage;

/**
 * A subject's budget and limits as configured: requests and tokens per minute, and a token or cost budget per
 * day or month. Any of them may be absent (null).
 */
public record Budget(Long requestsPerMinute, Long tokensPerMinute, Long budgetTokens, Long budgetCostMicros,
                     String budgetPeriod) {
    public static final Budget NONE = new Budget(null, null, null, null, null);

    public boolean isEmpty() {
        return requestsPerMinute == null && tokensPerMinute == null && budgetTokens == null && budgetCostMicros == null;
    }

    /** The limits for one counter subject. */
    public java.util.List<Limit> limits(String label, String ruleId, String scope) {
        java.util.List<Limit> out = new java.util.ArrayList<>();
        if (requestsPerMinute != null) {
            out.add(new Limit("the request limit of " + label, ruleId, scope, Limit.REQUESTS, "minute", requestsPerMinute));
        }
        if (tokensPerMinute != null) {
            out.add(new Limit("the token limit of " + label, ruleId, scope, Limit.TOKENS, "minute", tokensPerMinute));
        }
        if (budgetTokens != null) {
            out.add(new Limit("the token budget of " + label, ruleId, scope, Limit.TOKENS, budgetPeriod, budgetTokens));
        }
        if (budgetCostMicros != null) {
            out.add(new Limit("the cost budget of " + label, ruleId, scope, Limit.COST, budgetPeriod, budgetCostMicros));
        }
        return out;
    }

    /** Whether every limit of this budget is at most the other's (absent in the other means no bound). */
    public boolean within(Budget other) {
        return le(requestsPerMinute, other.requestsPerMinute) && le(tokensPerMinute, other.tokensPerMinute);
    }

    private static boolean le(Long mine, Long theirs) {
        return theirs == null || (mine != null && mine <= theirs);
    }
}
