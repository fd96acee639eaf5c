package attest.cli;

import attest.http.GatewayException;
import attest.keys.KeyJson;
import attest.keys.KeyStore;
import attest.keys.VirtualKey;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.UUID;
import java.util.concurrent.Callable;

/**
 * {@code attest keys create|list|revoke}: virtual keys for platform engineers, against the same settings as
 * {@code attest run} ({@code --config FILE}, then environment variables), with the same rules and records as
 * {@code POST/GET/DELETE /keys}: the rules of {@link attest.keys.KeyIssuer}, the secret printed once, and each
 * creation and revocation an entry of the evidence chain of {@code attest.instance-id} plus its Kafka outbox event.
 * Exit codes: 0 done, 1 refused or not found, 2 bad arguments or settings (no database, Keycloak unreachable).
 */
@Command(name = "keys", mixinStandardHelpOptions = true, versionProvider = AttestCommand.Version.class,
        description = {"Creates, lists and revokes virtual keys (as POST/GET/DELETE /keys do).",
                "Exit codes: 0 done, 1 refused or not found, 2 bad arguments or settings."},
        subcommands = {KeysCommand.Create.class, KeysCommand.ListKeys.class, KeysCommand.Revoke.class})
public final class KeysCommand implements Callable<Integer> {
    public static final int DONE = 0;
    public static final int REFUSED = 1;
    public static final int NOT_CONFIGURED = 2;
    static final ObjectMapper JSON = new ObjectMapper();

    @Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        spec.commandLine().usage(System.err);
        return NOT_CONFIGURED;
    }

    /** For the process that runs a keys command: the libraries it uses log warnings only (never in a gateway). */
    public static void quietLogs() {
        try {
            org.apache.logging.log4j.core.config.Configurator.setRootLevel(org.apache.logging.log4j.Level.WARN);
        } catch (LinkageError e) {
            // another logging backend: its own configuration applies
        }
    }

    /** The options every keys command shares. */
    static final class Common {
        @Option(names = "--config", paramLabel = "FILE",
                description = "the gateway's properties file (as for attest run); environment variables override it")
        Path config;

        @Option(names = "--json", description = "prints JSON (the REST API's shape) instead of text")
        boolean json;
    }

    /** Runs one command with clean errors: a refusal exits 1, a problem of the settings 2, never a stack trace. */
    static int guarded(String what, Work work) {
        try {
            return work.run();
        } catch (KeyAdmin.Failure e) {
            System.err.println("attest keys " + what + ": " + e.getMessage());
            return e.code();
        } catch (GatewayException e) {
            System.err.println("attest keys " + what + ": " + e.getMessage());
            return e.status() == 400 ? NOT_CONFIGURED : REFUSED;
        } catch (RuntimeException e) {
            System.err.println("attest keys " + what + ": " + (e.getMessage() == null ? e.getClass().getSimpleName()
                    : e.getMessage()));
            return NOT_CONFIGURED;
        }
    }

    @FunctionalInterface
    interface Work {
        int run();
    }

    @Command(name = "create", mixinStandardHelpOptions = true,
            description = {"Creates a key for a Keycloak user or service account and prints its secret, this once.",
                    "The owner holds a key-creating role (attest.keys.creator-roles); the key's upstreams are ones the "
                            + "owner's policy allows, its limits within the owner's own."})
    public static final class Create implements Callable<Integer> {
        @Mixin
        Common common = new Common();

        @CommandLine.ArgGroup(multiplicity = "1")
        Owner owner;

        static final class Owner {
            @Option(names = "--owner", paramLabel = "USERNAME", required = true,
                    description = "the Keycloak user who owns the key")
            String username;

            @Option(names = "--service-account", paramLabel = "CLIENT_ID", required = true,
                    description = "the Keycloak client whose service account owns the key")
            String client;
        }

        @Option(names = "--name", required = true, description = "a name for the key (1 to 100 characters)")
        String name;

        @Option(names = "--expires-in", paramLabel = "DURATION",
                description = "ISO-8601 duration, such as P30D or PT12H (default attest.keys.default-lifetime)")
        String expiresIn;

        @Option(names = "--upstream", paramLabel = "NAME", split = ",",
                description = "upstreams the key may call (default: any the owner may)")
        List<String> upstreams;

        @Option(names = "--model", paramLabel = "GLOB", split = ",",
                description = "models the key may call (default: any the owner may)")
        List<String> models;

        @Option(names = "--budget-tokens", paramLabel = "N", description = "a token budget per --budget-period")
        Long budgetTokens;

        @Option(names = "--budget-cost", paramLabel = "AMOUNT", description = "a cost budget per --budget-period")
        String budgetCost;

        @Option(names = "--budget-period", paramLabel = "day|month", description = "the budget's period")
        String budgetPeriod;

        @Option(names = "--requests-per-minute", paramLabel = "N", description = "the key's own request rate limit")
        Long requestsPerMinute;

        @Option(names = "--tokens-per-minute", paramLabel = "N", description = "the key's own token rate limit")
        Long tokensPerMinute;

        @Option(names = "--client", paramLabel = "CLIENT_ID",
                description = "for a user's key: the client id that policy rules naming clients see (default none)")
        String client;

        @Option(names = "--actor", paramLabel = "NAME",
                description = "who acts, for the evidence: recorded as NAME (cli:<operating-system user>); default "
                        + "cli:<operating-system user>")
        String actor;

        @Override
        public Integer call() {
            return guarded("create", () -> {
                String by = KeyAdmin.actor(actor); // refused before anything is looked up
                try (KeyAdmin admin = KeyAdmin.open(common.config)) {
                    KeyJson.Request req = KeyJson.read(body(), admin.issuer().defaultLifetime(),
                            admin.issuer().maxLifetime());
                    var who = owner.username != null ? admin.ownerByUsername(owner.username, client)
                            : admin.ownerByServiceAccount(owner.client);
                    KeyStore.Created created = admin.issuer().issue(who, req, by);
                    ObjectNode view = KeyJson.view(created.key(), Instant.now());
                    PrintStream out = System.out;
                    if (common.json) {
                        view.put("key", created.secret());
                        out.println(view);
                    } else {
                        print(out, created.key(), view);
                        out.println("secret:     " + created.secret());
                        out.println("The secret is shown this once and is not stored; keep it now.");
                    }
                    return DONE;
                }
            });
        }

        /** The options as the body of {@code POST /keys}, so that both are read by the same strict reader. */
        byte[] body() {
            ObjectNode b = JSON.createObjectNode();
            b.put("name", name);
            if (expiresIn != null) {
                b.put("expires_in", expiresIn);
            }
            if (upstreams != null) {
                upstreams.forEach(b.putArray("upstreams")::add);
            }
            if (models != null) {
                models.forEach(b.putArray("models")::add);
            }
            if (budgetTokens != null || budgetCost != null || budgetPeriod != null) {
                ObjectNode budget = b.putObject("budget");
                if (budgetTokens != null) {
                    budget.put("tokens", budgetTokens);
                }
                if (budgetCost != null) {
                    budget.put("cost", budgetCost);
                }
                if (budgetPeriod != null) {
                    budget.put("period", budgetPeriod);
                }
            }
            if (requestsPerMinute != null || tokensPerMinute != null) {
                ObjectNode limits = b.putObject("limits");
                if (requestsPerMinute != null) {
                    limits.put("requests_per_minute", requestsPerMinute);
                }
                if (tokensPerMinute != null) {
                    limits.put("tokens_per_minute", tokensPerMinute);
                }
            }
            return b.toString().getBytes(StandardCharsets.UTF_8);
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true,
            description = "Lists keys, newest first (at most 1000), never with a secret.")
    public static final class ListKeys implements Callable<Integer> {
        @Mixin
        Common common = new Common();

        @Option(names = "--owner", paramLabel = "USERNAME", description = "only this owner's keys (username or subject)")
        String owner;

        @Override
        public Integer call() {
            return guarded("list", () -> {
                try (KeyAdmin admin = KeyAdmin.open(common.config)) {
                    Instant now = Instant.now();
                    List<VirtualKey> keys = admin.store().list(null).stream().filter(k -> owner == null
                            || owner.equals(k.ownerSubject()) || owner.equalsIgnoreCase(String.valueOf(k.ownerUsername())))
                            .toList();
                    if (common.json) {
                        ObjectNode body = JSON.createObjectNode();
                        body.put("scope", owner == null ? "all" : "owner");
                        ArrayNode arr = body.putArray("keys");
                        keys.forEach(k -> arr.add(KeyJson.view(k, now)));
                        System.out.println(body);
                    } else {
                        System.out.printf(Locale.ROOT, "%-36s  %-7s  %-20s  %-24s  %-8s  %s%n", "ID", "STATUS", "OWNER",
                                "NAME", "HINT", "EXPIRES");
                        for (VirtualKey k : keys) {
                            ObjectNode v = KeyJson.view(k, now);
                            System.out.printf(Locale.ROOT, "%-36s  %-7s  %-20s  %-24s  %-8s  %s%n", k.id(),
                                    v.path("status").asText(), v.path("owner").asText(), k.name(), "..." + k.hint(),
                                    k.expiresAt());
                        }
                    }
                    return DONE;
                }
            });
        }
    }

    @Command(name = "revoke", mixinStandardHelpOptions = true,
            description = "Revokes a key by id; every replica refuses it within attest.keys.cache-ms.")
    public static final class Revoke implements Callable<Integer> {
        @Mixin
        Common common = new Common();

        @Parameters(index = "0", paramLabel = "ID", description = "the key's id (attest keys list)")
        String id;

        @Option(names = "--actor", paramLabel = "NAME",
                description = "who acts, for the evidence: recorded as NAME (cli:<operating-system user>); default "
                        + "cli:<operating-system user>")
        String actor;

        @Override
        public Integer call() {
            return guarded("revoke", () -> {
                UUID keyId;
                try {
                    keyId = UUID.fromString(id);
                } catch (IllegalArgumentException e) {
                    throw new KeyAdmin.Failure(NOT_CONFIGURED, "not a key id: " + id.replaceAll("[^A-Za-z0-9-]", "?"));
                }
                String by = KeyAdmin.actor(actor); // refused before anything is looked up
                try (KeyAdmin admin = KeyAdmin.open(common.config)) {
                    if (admin.store().byId(keyId).isEmpty()) {
                        throw new KeyAdmin.Failure(REFUSED, "no such key: " + keyId);
                    }
                    if (!admin.store().revoke(keyId, by)) {
                        throw new KeyAdmin.Failure(REFUSED, "the key " + keyId + " is already revoked");
                    }
                    VirtualKey revoked = admin.store().byId(keyId).orElseThrow();
                    ObjectNode view = KeyJson.view(revoked, Instant.now());
                    if (common.json) {
                        System.out.println(view);
                    } else {
                        print(System.out, revoked, view);
                    }
                    return DONE;
                }
            });
        }
    }

    static void print(PrintStream out, VirtualKey k, ObjectNode view) {
        out.println("id:         " + k.id());
        out.println("name:       " + k.name());
        out.println("owner:      " + view.path("owner").asText() + " (" + k.principalType() + ", " + k.ownerSubject()
                + ")");
        out.println("status:     " + view.path("status").asText());
        out.println("upstreams:  " + (k.upstreams().isEmpty() ? "(the owner's)" : String.join(",", k.upstreams())));
        out.println("models:     " + (k.models().isEmpty() ? "(the owner's)" : String.join(",", k.models())));
        out.println("budget:     " + (view.path("budget").isNull() ? "none" : view.path("budget")));
        out.println("limits:     " + (view.path("limits").isNull() ? "none" : view.path("limits")));
        out.println("expires at: " + k.expiresAt());
        if (k.revokedAt() != null) {
            out.println("revoked at: " + k.revokedAt() + " by " + k.revokedBy());
        }
    }
}
