package attest.masking;

import java.util.List;
import java.util.regex.Pattern;

/**
 * One rule set from masking-rules/: where it applies, who is exempt, and the masker it builds.
 *
 * @param id          the rule set's id, recorded in the evidence
 * @param upstreams   upstream names it applies to (empty: all)
 * @param paths       path globs under the upstream prefix (empty: all)
 * @param requests    whether request bodies are masked before they are forwarded
 * @param responses   whether responses are masked before they are delivered
 * @param exemptRoles callers with any of these roles see raw values (and the exemption is recorded)
 * @param masker      detectors and actions
 */
public record MaskingRuleSet(String id, List<String> upstreams, List<Pattern> paths, boolean requests,
                             boolean responses, List<String> exemptRoles, Masker masker) {
    public boolean appliesTo(String upstream, String path) {
        return (upstreams.isEmpty() || upstreams.contains(upstream))
                && (paths.isEmpty() || paths.stream().anyMatch(p -> p.matcher(path).matches()));
    }
}
