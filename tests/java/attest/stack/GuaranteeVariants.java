package attest.stack;

import attest.AttestConfiguration;
import attest.Exchanges;
import attest.evidence.EvidenceWriter;
import attest.http.ChannelGuards;
import attest.http.ConnectionLimits;
import attest.http.HardenedNettyHttpComponent;
import attest.http.RefusedRequest;
import attest.http.RequestBudget;
import attest.identity.Identity;
import attest.policy.Decision;
import org.apache.camel.CamelContext;
import org.apache.camel.Processor;
import org.apache.camel.builder.AdviceWith;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

/**
 * bench/guarantees.sh: gateways that are the full gateway with one guarantee switched off each, to measure what
 * each guarantee costs. Only here, in test code: by settings that already exist (masking rules, Kafka brokers,
 * tracing), by Camel {@code AdviceWith} on the started gateway's routes (a step replaced by a no-op that sets what
 * later steps need), or by test-only configuration. No production setting turns a guarantee off.
 */
final class GuaranteeVariants {
    private GuaranteeVariants() {
    }

    /** The variants in bench order: {@code all} first, then one guarantee off each. */
    static final List<String> ALL = List.of("all", "identity", "policy", "masking", "evidence", "encryption", "relay",
            "tracing");

    /** The settings of a variant's gateway (the full gateway's settings, with the variant's changes). */
    static Map<String, String> settings(String variant, Map<String, String> full, Path work) throws Exception {
        Map<String, String> p = new HashMap<>(full);
        switch (variant) {
            case "masking" -> { // masking off, request and response: an empty rules directory
                Path noRules = work.resolve("no-masking-rules");
                Files.createDirectories(noRules);
                p.put("attest.masking.rules-dir", noRules.toString());
            }
            case "relay" -> p.put("attest.kafka.brokers", ""); // no relay: the events wait in the outbox
            case "tracing" -> p.put("attest.tracing.enabled", "false");
            case "all", "identity", "policy", "evidence", "encryption" -> { }
            default -> throw new IllegalArgumentException("unknown variant " + variant + "; known: " + ALL);
        }
        return p;
    }

    /** The gateway's configuration: the production one, but for identity-off without the early token check. */
    static AttestConfiguration configuration(String variant) {
        return "identity".equals(variant) ? new WithoutEarlyAuth() : new AttestConfiguration();
    }

    /** Switches the variant's guarantee off on the started gateway (AdviceWith on its direct routes). */
    static void apply(String variant, CamelContext ctx) throws Exception {
        switch (variant) {
            case "identity" -> {
                // the token is not verified: the first call's identity (verified once) is set on every call; the
                // credential is still read from the headers (later steps see which kind it was)
                Processor verify = ctx.getRegistry().lookupByNameAndType("verifyTokenProcessor", Processor.class);
                AtomicReference<Object> identity = new AtomicReference<>();
                AdviceWith.adviceWith(ctx, "identity-verify", a -> a.weaveById("route-by-credential").replace()
                        .process(fixed(identity, Exchanges.IDENTITY, verify)));
            }
            case "policy" -> // no policy, risk or budgets: every call is allowed, no usage admitted or settled
                    AdviceWith.adviceWith(ctx, "policy-decide", a -> {
                        a.weaveById("decide-policy").replace().process(e -> e.setProperty(Exchanges.DECISION,
                                Decision.allow("bench-policy-off", "bench: policy switched off")));
                        for (String id : List.of("narrow-to-key-scope", "admit-usage", "apply-token-ceiling",
                                "assess-risk")) {
                            a.weaveById(id).remove();
                        }
                    });
            case "evidence" -> { // no record committed, neither open nor terminal (so no chain entry, no outbox row)
                AdviceWith.adviceWith(ctx, "upstream-call", a ->
                        a.weaveById("open-evidence").replace().process(e -> { }));
                AdviceWith.adviceWith(ctx, "evidence-record", a ->
                        a.weaveById("record-evidence").replace().process(e -> { }));
            }
            case "encryption" -> // records committed and chained, their payloads stored in plaintext
                    ctx.getRegistry().lookupByNameAndType("evidenceWriter", EvidenceWriter.class).encryptWith(null);
            default -> { }
        }
        if ("policy".equals(variant)) { // settling usage against budgets is part of the budgets
            AdviceWith.adviceWith(ctx, "upstream-call", a -> a.weaveById("settle-usage").remove());
        }
    }

    /** Sets {@code property} to the value that {@code real} set on the first call, without running it again. */
    private static Processor fixed(AtomicReference<Object> value, String property, Processor real) {
        return e -> {
            Object v = value.get();
            if (v == null) {
                real.process(e);
                v = e.getProperty(property, Identity.class);
                if (v == null) {
                    throw new IllegalStateException("the first call set no " + property);
                }
                value.compareAndSet(null, v);
            }
            e.setProperty(property, v);
        };
    }

    /** Counts of what a gateway's database holds: records (payloads encrypted), chain entries, outbox rows. */
    static String store(String jdbcUrl) {
        try (var c = java.sql.DriverManager.getConnection(jdbcUrl, "postgres", ""); var st = c.createStatement()) {
            StringBuilder b = new StringBuilder();
            for (String[] q : new String[][]{
                    {"records", "SELECT count(*) FROM evidence_record"},
                    {"with encrypted payloads", "SELECT count(*) FROM evidence_record WHERE payload_key_id IS NOT NULL"},
                    {"chain entries", "SELECT count(*) FROM evidence_chain"},
                    {"outbox rows", "SELECT count(*) FROM evidence_outbox"},
                    {"published", "SELECT count(*) FROM evidence_outbox WHERE published_at IS NOT NULL"}}) {
                try (var rs = st.executeQuery(q[1])) {
                    rs.next();
                    b.append(b.isEmpty() ? "" : ", ").append(q[0]).append(' ').append(rs.getLong(1));
                }
            }
            return b.toString();
        } catch (java.sql.SQLException e) {
            return "not readable (" + e.getSQLState() + ")";
        }
    }

    /**
     * The production configuration, then the data plane's guards again without the early token check on the
     * headers (connection caps, idle timeout and the body budget as configured). Test code only.
     */
    static final class WithoutEarlyAuth extends AttestConfiguration {
        @Override
        public void configure(CamelContext context) {
            super.configure(context);
            var props = context.getPropertiesComponent();
            int port = Integer.parseInt(props.resolveProperty("attest.data.port").orElse("8080"));
            long idleMs = Long.parseLong(props.resolveProperty("attest.http.idle-timeout-ms").orElse("60000"));
            long hardMax = Long.parseLong(props.resolveProperty("attest.data.max-body-hard-bytes").orElse("4194304"));
            var registry = context.getRegistry();
            @SuppressWarnings("unchecked")
            Consumer<RefusedRequest> refusals = registry.lookupByNameAndType("refusalRecorder", Consumer.class);
            registry.lookupByNameAndType("netty-http", HardenedNettyHttpComponent.class).guard(port, new ChannelGuards(
                    registry.lookupByNameAndType("dataConnectionLimits", ConnectionLimits.class), idleMs, refusals)
                    .withBudget(registry.lookupByNameAndType("requestBudget", RequestBudget.class), hardMax));
        }
    }
}
