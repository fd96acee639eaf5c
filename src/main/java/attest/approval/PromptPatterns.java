package attest.approval;

import java.util.List;
import java.util.Map;

/**
 * The default prompt pattern sets that risk rules can name. All are RE2 (linear time) and matched
 * case-insensitively against the prompt text as {@link attest.text.PromptExtractor} normalises it: RE2's
 * {@code \s} and {@code \w} are ASCII-only, which is safe only because every Unicode space has become a plain
 * space, full-width letters ASCII ones, and zero-width characters are gone.
 */
public final class PromptPatterns {
    public static final Map<String, List<String>> DEFAULTS = Map.of(
            "training-data-extraction", List.of(
                    "(repeat|reproduce|recite|print|output)\\s+(\\w+\\s+){0,4}(your\\s+)?training\\s+data",
                    "verbatim\\s+(\\w+\\s+){0,6}(training|trained)",
                    "what\\s+(data|documents|texts)\\s+(were|was)\\s+you\\s+trained\\s+on",
                    "(memori[sz]ed|memorized)\\s+(\\w+\\s+){0,3}(examples|records|data)"),
            "system-prompt-extraction", List.of(
                    "(ignore|disregard|forget)\\s+(all\\s+|any\\s+)?(of\\s+)?(the\\s+|your\\s+)?(previous|prior|above|earlier)\\s+"
                            + "(instructions|rules|directions)",
                    "(reveal|print|show|repeat|output|tell\\s+me)\\s+(\\w+\\s+){0,3}(system|hidden|initial)\\s+"
                            + "(prompt|instructions|message)",
                    "what\\s+(is|are)\\s+your\\s+(system\\s+prompt|instructions)"),
            "bulk-personal-data", List.of(
                    "(list|export|dump|give\\s+me|show)\\s+(me\\s+)?(all|every|each)\\s+(\\w+\\s+){0,3}"
                            + "(customers?|users?|employees?|patients?|people|persons|accounts?)\\b.{0,80}"
                            + "(ssn|social\\s+security|card|email|phone|address|date\\s+of\\s+birth|dob|iban)",
                    "(all|every)\\s+(customer|user|employee|patient)\\s+records"));

    private PromptPatterns() {
    }
}
