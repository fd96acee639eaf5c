package attest.approval;

import attest.masking.BlockedException;
import attest.masking.MaskingFailedException;
import attest.masking.MaskingRuleSet;
import attest.masking.MaskingService;

import java.util.Optional;

/**
 * The masked view of a held call's prompt that approvers see (REST, email, approval page): the prompt text
 * masked with the upstream's masking rules (or the first rule set when none applies), cut to a length.
 * Nothing unmasked is ever shown: if masking fails, the preview says so instead.
 */
public final class ApprovalPreview {
    public static final int MAX_CHARS = 4000;

    private final MaskingService masking;

    public ApprovalPreview(MaskingService masking) {
        this.masking = masking;
    }

    public String of(String upstream, String path, byte[] body, boolean json) {
        String prompt = attest.text.PromptExtractor.extract(body);
        Optional<MaskingRuleSet> rules = rules(upstream, path);
        if (rules.isEmpty()) {
            return "[preview withheld: no masking rules are configured]";
        }
        String masked;
        try {
            masked = masking.run(() -> rules.get().masker().mask(prompt, "/preview", r -> { }));
        } catch (BlockedException e) {
            return "[preview withheld: the prompt contains " + e.entityType() + "]";
        } catch (MaskingFailedException e) {
            return "[preview withheld: the prompt could not be masked]";
        }
        return masked.length() > MAX_CHARS ? masked.substring(0, MAX_CHARS) + " [...]" : masked;
    }

    /**
     * What a held call asks of the model ({@link CallShape}), with every name the caller chose (the model's, each
     * tool's) masked as the prompt is: a tool's name is the caller's text too, and the approvers' views (REST,
     * email, page) show it. A name that cannot be masked is withheld.
     */
    public CallShape shape(Approval a) {
        Optional<MaskingRuleSet> rules = rules(a.upstream(), a.targetPath());
        return CallShape.of(a.upstream(), a.requestBody(), name -> {
            if (rules.isEmpty()) {
                return "[withheld]";
            }
            try {
                return masking.run(() -> rules.get().masker().mask(name, "/preview", r -> { }));
            } catch (BlockedException e) {
                return "[withheld: " + e.entityType() + "]";
            } catch (MaskingFailedException e) {
                return "[withheld]";
            }
        });
    }

    private Optional<MaskingRuleSet> rules(String upstream, String path) {
        return masking.ruleSetFor(upstream, path).or(() -> masking.ruleSets().stream().findFirst());
    }
}
