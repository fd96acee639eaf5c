package attest.masking;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.function.Supplier;

/** The loaded rule sets, and the time budget that every masking pass must meet. */
public final class MaskingService {
    private final List<MaskingRuleSet> ruleSets;
    private final long budgetNanos;

    public MaskingService(List<MaskingRuleSet> ruleSets, Duration budget) {
        this.ruleSets = List.copyOf(ruleSets);
        this.budgetNanos = budget.toNanos();
    }

    public List<MaskingRuleSet> ruleSets() {
        return ruleSets;
    }

    /** The first rule set whose scope matches the call, if any. */
    public Optional<MaskingRuleSet> ruleSetFor(String upstream, String path) {
        return ruleSets.stream().filter(r -> r.appliesTo(upstream, path)).findFirst();
    }

    /**
     * Runs one masking pass. A block rule's {@link BlockedException} passes through; any other failure,
     * or a pass over the time budget, becomes {@link MaskingFailedException}: the caller must fail closed.
     */
    public <T> T run(Supplier<T> pass) {
        long start = System.nanoTime();
        T result;
        try {
            result = pass.get();
        } catch (BlockedException e) {
            throw e;
        } catch (RuntimeException | StackOverflowError e) {
            throw new MaskingFailedException("a detector failed: " + e.getClass().getSimpleName());
        }
        if (System.nanoTime() - start > budgetNanos) {
            throw new MaskingFailedException("masking exceeded its time budget");
        }
        return result;
    }
}
