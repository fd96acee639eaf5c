package attest.rules;

import attest.approval.RiskEngine;
import attest.approval.RiskRule;
import attest.approval.RiskRulesFile;
import attest.masking.MaskingRuleSet;
import attest.masking.MaskingRulesFile;
import attest.masking.MaskingService;
import attest.policy.PolicyEngine;
import attest.policy.PolicyFile;
import attest.policy.PolicyRule;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Hot reload of the policy, masking and risk rules. The rule-set version is the SHA-256 of the rule files (the
 * policy file, then each {@code *.yaml} of the masking and risk directories by name, each as its name and bytes);
 * it is recorded on the evidence of every call the policy decides. A reload loads and validates all three, then
 * puts them in force; a file that does not load keeps the old rules in force, logs its {@code file:line} error and
 * counts a failure ({@code attest_rules_reload_failures_total}); a bad version is reported once, not at every check.
 * Reloads run when the files change (checked periodically) or on the control plane's {@code POST /rules/reload}.
 */
public final class RuleReloader {
    private static final Logger LOG = LoggerFactory.getLogger(RuleReloader.class);

    /**
     * What a reload did: {@code reloaded}, {@code unchanged}, {@code failed} (with the file:line error), or
     * {@code changing} (the files changed while being read; nothing applied, the next check retries).
     */
    public record Result(String status, String version, String error) {
    }

    private final Path policyFile;
    private final Path maskingDir;
    private final Path riskDir;
    private final Set<String> upstreams;
    private final byte[] hmacKey;
    private final PolicyEngine policy;
    private final MaskingService masking;
    private final RiskEngine risk;
    private final Counter reloads;
    private final Counter failures;
    private volatile String version;
    private volatile String lastFailed;
    private volatile boolean lastFailedState;

    public RuleReloader(Path policyFile, Path maskingDir, Path riskDir, Set<String> upstreams, byte[] hmacKey,
                        PolicyEngine policy, MaskingService masking, RiskEngine risk, MeterRegistry metrics) {
        this.policyFile = policyFile;
        this.maskingDir = maskingDir;
        this.riskDir = riskDir;
        this.upstreams = Set.copyOf(upstreams);
        this.hmacKey = hmacKey.clone();
        this.policy = policy;
        this.masking = masking;
        this.risk = risk;
        this.reloads = Counter.builder("attest.rules.reloads").description("rule reloads put in force").register(metrics);
        this.failures = Counter.builder("attest.rules.reload.failures")
                .description("rule reloads refused: a file did not load, the old rules stay in force").register(metrics);
        io.micrometer.core.instrument.Gauge.builder("attest.rules.reload.failing", this, r -> r.lastFailedState ? 1 : 0)
                .description("1 while the rule files on disk do not load (the old rules are in force)").register(metrics);
        this.version = version();
        policy.replace(policy.rules(), this.version);
    }

    /** The version of the rules in force. */
    public String current() {
        return version;
    }

    /** The digest of the rule files as they are on disk now. */
    public String version() {
        try {
            MessageDigest d = MessageDigest.getInstance("SHA-256");
            for (Path f : files()) {
                byte[] name = f.getFileName().toString().getBytes(StandardCharsets.UTF_8);
                byte[] bytes = Files.readAllBytes(f);
                d.update(HexFormat.of().formatHex(java.nio.ByteBuffer.allocate(8).putInt(name.length)
                        .putInt(bytes.length).array()).getBytes(StandardCharsets.US_ASCII));
                d.update(name);
                d.update(bytes);
            }
            return HexFormat.of().formatHex(d.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private List<Path> files() throws IOException {
        List<Path> out = new ArrayList<>();
        out.add(policyFile);
        for (Path dir : List.of(maskingDir, riskDir)) {
            try (Stream<Path> s = Files.list(dir)) {
                out.addAll(s.filter(p -> p.toString().endsWith(".yaml")).sorted().toList());
            }
        }
        return out;
    }

    /** The periodic check: reloads when the files changed since the version in force (and since the last bad one). */
    public void checkFiles() {
        String onDisk;
        try {
            onDisk = version();
        } catch (RuntimeException e) {
            return; // a file half-replaced or a directory briefly gone: the next check sees the settled state
        }
        if (!onDisk.equals(version) && !onDisk.equals(lastFailed)) {
            reload("the rule files changed");
        } else if (onDisk.equals(version)) {
            lastFailedState = false;
        }
    }

    /** Loads, validates and puts in force all three rule kinds; on any error the old rules stay. */
    public synchronized Result reload(String why) {
        String next;
        List<PolicyRule> p;
        List<MaskingRuleSet> m;
        List<RiskRule> r;
        try {
            next = version();
            if (next.equals(version)) {
                lastFailedState = false;
                return new Result("unchanged", version, null);
            }
            p = PolicyFile.load(policyFile, upstreams);
            m = MaskingRulesFile.loadDirectory(maskingDir, hmacKey);
            r = RiskRulesFile.loadDirectory(riskDir);
        } catch (RuntimeException e) {
            String error = e instanceof RuleFileException ? e.getMessage() : e.getClass().getSimpleName() + ": "
                    + e.getMessage();
            try {
                lastFailed = version();
            } catch (RuntimeException unreadable) {
                lastFailed = null;
            }
            lastFailedState = true;
            failures.increment();
            LOG.error("rules not reloaded ({}): {}; the rules of version {} stay in force", why, error, version);
            return new Result("failed", version, error);
        }
        String loaded;
        try {
            loaded = version();
        } catch (RuntimeException e) {
            loaded = null;
        }
        if (!next.equals(loaded)) {
            // the files changed while they were read: what was loaded may mix two versions; the next check retries
            return new Result("changing", version, null);
        }
        masking.replace(m);
        risk.replace(r);
        policy.replace(p, next);
        String previous = version;
        version = next;
        lastFailed = null;
        lastFailedState = false;
        reloads.increment();
        LOG.info("rules reloaded ({}): version {} -> {}: {} policy rules, {} masking rule sets, {} risk rules", why,
                previous, next, p.size(), m.size(), r.size());
        return new Result("reloaded", next, null);
    }
}
