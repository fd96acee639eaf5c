package attest.policy;

import java.util.List;
import java.util.regex.Pattern;

/**
 * One least-privilege rule. Every {@code match} key that is present must match (AND); inside a key,
 * any listed value may match (OR). An absent key matches everything. A call that names no token limit gets
 * {@link #injectedMaxTokens()} written into the body it forwards, so no call is ever unlimited.
 */
public record PolicyRule(String id, Verdict verdict, String reason, int line,
                         List<String> roles, List<String> groups, List<String> clients, List<String> subjects,
                         List<String> upstreams, List<String> methods, List<Pattern> paths, List<Pattern> models,
                         Long maxBodyBytes, Long maxTokens, Long requestsPerMinute, Long defaultMaxTokens) {

    public PolicyRule(String id, Verdict verdict, String reason, int line, List<String> roles, List<String> groups,
                      List<String> clients, List<String> subjects, List<String> upstreams, List<String> methods,
                      List<Pattern> paths, List<Pattern> models, Long maxBodyBytes, Long maxTokens,
                      Long requestsPerMinute) {
        this(id, verdict, reason, line, roles, groups, clients, subjects, upstreams, methods, paths, models,
                maxBodyBytes, maxTokens, requestsPerMinute, null);
    }

    /**
     * The token limit written into a call that names none: {@code default-max-tokens} when set, else the
     * ceiling {@code max-tokens}; null when the rule has no ceiling.
     */
    public Long injectedMaxTokens() {
        return defaultMaxTokens != null ? defaultMaxTokens : maxTokens;
    }

    /** Compiles a glob: {@code **} is any text, {@code *} is any text without '/', the rest is literal. */
    public static Pattern glob(String glob) {
        StringBuilder re = new StringBuilder();
        int i = 0;
        while (i < glob.length()) {
            char c = glob.charAt(i);
            if (c == '*') {
                if (i + 1 < glob.length() && glob.charAt(i + 1) == '*') {
                    re.append(".*");
                    i += 2;
                    continue;
                }
                re.append("[^/]*");
            } else {
                re.append(Pattern.quote(String.valueOf(c)));
            }
            i++;
        }
        return Pattern.compile(re.toString());
    }
}
