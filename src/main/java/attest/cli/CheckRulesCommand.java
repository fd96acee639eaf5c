package attest.cli;

import attest.approval.RiskRule;
import attest.approval.RiskRulesFile;
import attest.masking.MaskingRuleSet;
import attest.masking.MaskingRulesFile;
import attest.policy.PolicyFile;
import attest.policy.PolicyRule;
import attest.rules.RuleFileException;
import attest.rules.YamlTree;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.function.Function;
import java.util.stream.Stream;

/**
 * {@code attest check-rules DIR}: validates the policy, masking and risk rules offline, as the gateway would load
 * them, and names every bad file as {@code file:line: problem}. DIR holds the same folders as a deployment:
 * {@code policy/}, {@code masking-rules/} and {@code approval-flow/} (each {@code *.yaml} in them is checked).
 * Exit codes: 0 all valid, 1 a file is invalid, 2 nothing to check or bad arguments.
 */
@Command(name = "check-rules", mixinStandardHelpOptions = true, versionProvider = AttestCommand.Version.class,
        description = {"Validates policy, masking and risk rules offline, with file:line errors.",
                "DIR holds policy/, masking-rules/ and approval-flow/ (*.yaml in each).",
                "Exit codes: 0 all valid, 1 a file is invalid, 2 nothing to check."})
public final class CheckRulesCommand implements Callable<Integer> {
    public static final int VALID = 0;
    public static final int INVALID = 1;
    public static final int NOTHING = 2;
    /** A stand-in for the masking HMAC key: rule files are checked for their shape, never hashed with it. */
    private static final byte[] CHECK_KEY = new byte[32];

    @Parameters(index = "0", paramLabel = "DIR", description = "the folder that holds the rule folders")
    Path dir;

    @Option(names = "--config", paramLabel = "FILE",
            description = "the gateway's properties file (for the upstream names the policy may use)")
    Path config;

    @Option(names = "--upstreams", paramLabel = "NAMES", split = ",",
            description = "the upstream names the policy may use (default: attest.upstreams of the settings)")
    List<String> upstreams;

    @Override
    public Integer call() throws IOException {
        return check(System.out);
    }

    int check(PrintStream out) throws IOException {
        if (!Files.isDirectory(dir)) {
            out.println(dir + ": not a directory");
            return NOTHING;
        }
        if (config != null && !Files.isReadable(config)) {
            out.println(config + ": cannot read the --config file");
            return NOTHING;
        }
        Set<String> names = upstreams != null ? Set.copyOf(upstreams) : Set.copyOf(
                Arrays.stream(EffectiveSettings.load(config).get("attest.upstreams").orElse("").split(","))
                        .map(String::trim).filter(s -> !s.isEmpty()).toList());
        List<String> errors = new ArrayList<>();
        int policy = checkAll(dir.resolve("policy"), errors, f -> PolicyFile.load(f, names), PolicyRule::id, false);
        int masking = checkAll(dir.resolve("masking-rules"), errors,
                f -> MaskingRulesFile.parse(YamlTree.read(f), CHECK_KEY), MaskingRuleSet::id, true);
        int risk = checkAll(dir.resolve("approval-flow"), errors, f -> RiskRulesFile.parse(YamlTree.read(f)),
                RiskRule::id, true);
        errors.forEach(out::println);
        if (!errors.isEmpty()) {
            out.println("INVALID: " + errors.size() + " problem" + (errors.size() == 1 ? "" : "s"));
            return INVALID;
        }
        if (policy < 0 && masking < 0 && risk < 0) {
            out.println(dir + ": no policy/, masking-rules/ or approval-flow/ folder with *.yaml files");
            return NOTHING;
        }
        out.println("OK: " + Math.max(policy, 0) + " policy rules, " + Math.max(masking, 0) + " masking rule sets, "
                + Math.max(risk, 0) + " risk rules");
        return VALID;
    }

    /**
     * Checks every {@code *.yaml} of one folder, goes on after a bad file, and (where the gateway loads the folder
     * as one) refuses an id used twice. Returns the rules read, or -1 when the folder has no file.
     */
    private static <T> int checkAll(Path folder, List<String> errors, Function<Path, List<T>> read,
                                    Function<T, String> id, boolean idsAcrossFiles) throws IOException {
        if (!Files.isDirectory(folder)) {
            return -1;
        }
        List<Path> files;
        try (Stream<Path> s = Files.list(folder)) {
            files = s.filter(p -> p.getFileName().toString().endsWith(".yaml") && Files.isRegularFile(p))
                    .sorted().toList();
        }
        if (files.isEmpty()) {
            return -1;
        }
        Map<String, Path> seen = new HashMap<>();
        int n = 0;
        for (Path f : files) {
            try {
                Set<String> own = new LinkedHashSet<>();
                for (T rule : read.apply(f)) {
                    n++;
                    String ruleId = id.apply(rule);
                    own.add(ruleId);
                    Path other = seen.get(ruleId);
                    if (idsAcrossFiles && other != null) {
                        throw new RuleFileException(f.toString(), 0, "duplicate id '" + ruleId + "' (also in "
                                + other + ")");
                    }
                }
                own.forEach(i -> seen.putIfAbsent(i, f));
            } catch (RuleFileException e) {
                errors.add(e.getMessage());
            } catch (RuntimeException e) {
                errors.add(f + ": " + e.getClass().getSimpleName() + ": " + e.getMessage());
            }
        }
        return n;
    }
}
