package attest.cli;

import attest.AttestConfiguration;
import attest.Settings;
import attest.approval.KeycloakApproverDirectory;
import attest.evidence.Database;
import attest.identity.Identity;
import attest.keys.KeyIssuer;
import attest.keys.KeyStore;
import attest.keys.KeycloakOwnerDirectory;
import attest.keys.Owner;
import attest.policy.PolicyEngine;
import attest.policy.PolicyFile;
import attest.rules.RuleFileException;
import org.postgresql.ds.PGSimpleDataSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * What the {@code attest keys} commands act on, from the same settings as {@code attest run}: the key store in
 * the external PostgreSQL (connected as the gateway's pool connects, acting as {@value Database#APP_ROLE}; the
 * schema is never migrated from here), and, for a creation, the policy, limits and the owner as Keycloak knows
 * them now (the gateway's admin client, {@code attest.approval.admin.*}). Key events go into the evidence chain
 * of {@code attest.instance-id}, like the REST calls served by that instance.
 */
final class KeyAdmin implements AutoCloseable {
    /** A problem the command reports and exits with. */
    static final class Failure extends RuntimeException {
        private final int code;

        Failure(int code, String message) {
            super(message);
            this.code = code;
        }

        int code() {
            return code;
        }
    }

    private final Settings settings;
    private final KeyStore store;
    private final Clock clock = Clock.systemUTC();
    private KeyIssuer issuer;
    private KeycloakOwnerDirectory keycloak;

    private KeyAdmin(Settings settings, KeyStore store) {
        this.settings = settings;
        this.store = store;
    }

    static KeyAdmin open(Path config) {
        if (config != null && !(Files.isRegularFile(config) && Files.isReadable(config))) {
            throw new Failure(KeysCommand.NOT_CONFIGURED, "cannot read the --config file " + config);
        }
        EffectiveSettings effective;
        try {
            effective = EffectiveSettings.load(config);
        } catch (IOException e) {
            throw new Failure(KeysCommand.NOT_CONFIGURED, "cannot read the settings: " + e.getMessage());
        }
        Settings s = new Settings(effective::get);
        String url = s.optional("attest.db.url").orElseThrow(() -> new Failure(KeysCommand.NOT_CONFIGURED,
                Database.NO_DATABASE));
        boolean app = s.optional("attest.db.app-user").isPresent();
        PGSimpleDataSource ds = new PGSimpleDataSource();
        ds.setURL(url);
        ds.setUser(app ? s.string("attest.db.app-user", "") : s.string("attest.db.user", ""));
        ds.setPassword(app ? s.string("attest.db.app-password", "") : s.string("attest.db.password", ""));
        ds.setOptions("-c role=" + Database.APP_ROLE); // the gateway's own rights: insert and read, no more
        ds.setConnectTimeout((int) Math.max(1, s.millis("attest.db.connect-timeout-ms", 5000).toSeconds()));
        ds.setSocketTimeout(30);
        String instance = AttestConfiguration.instanceId(s);
        try (Connection c = ds.getConnection()) {
            try (PreparedStatement ps = c.prepareStatement("SELECT to_regclass('api_key') IS NOT NULL");
                 ResultSet rs = ps.executeQuery()) {
                rs.next();
                if (!rs.getBoolean(1)) {
                    throw new Failure(KeysCommand.NOT_CONFIGURED, "the database has no Attest schema (no api_key "
                            + "table): start attest run against it once");
                }
            }
            try (PreparedStatement ps = c.prepareStatement("SELECT closed_by FROM evidence_chain_head WHERE chain_id = ?")) {
                ps.setString(1, instance);
                try (ResultSet rs = ps.executeQuery()) {
                    if (rs.next() && rs.getString(1) != null) {
                        throw new Failure(KeysCommand.NOT_CONFIGURED, "the evidence chain of attest.instance-id "
                                + instance + " was closed by instance " + rs.getString(1) + " (that instance is gone): "
                                + "set attest.instance-id to a running gateway's");
                    }
                }
            }
        } catch (SQLException e) {
            throw new Failure(KeysCommand.NOT_CONFIGURED, "cannot use the database " + url.replaceAll("\\?.*", "")
                    + ": " + e.getMessage());
        }
        return new KeyAdmin(s, new KeyStore(ds, instance, s.string("attest.kafka.topic", "attest.evidence.v1"),
                Clock.systemUTC()));
    }

    KeyStore store() {
        return store;
    }

    /** The rules of creation, from the policy, limits and key settings the gateway reads. */
    KeyIssuer issuer() {
        if (issuer == null) {
            Set<String> upstreams = settings.list("attest.upstreams").stream().collect(Collectors.toSet());
            Path policyFile = Path.of(settings.required("attest.policy.file"));
            try {
                PolicyEngine policy = new PolicyEngine(PolicyFile.load(policyFile, upstreams), (key, perMinute) -> 0);
                issuer = KeyIssuer.fromSettings(settings, store, policy, upstreams, clock);
            } catch (RuleFileException e) {
                throw new Failure(KeysCommand.NOT_CONFIGURED, e.getMessage());
            }
        }
        return issuer;
    }

    /** A person's identity as Keycloak knows it now (roles, groups, enabled), saved for the gateway's key checks. */
    Identity ownerByUsername(String username, String clientId) {
        KeycloakOwnerDirectory.Account a = account(username);
        if (a.serviceAccountClientId() != null) {
            throw new Failure(KeysCommand.REFUSED, username + " is the service account of client "
                    + a.serviceAccountClientId() + ": use --service-account " + a.serviceAccountClientId());
        }
        return identity(a.owner(), Identity.USER, clientId);
    }

    /** A client's service account as Keycloak knows it now. */
    Identity ownerByServiceAccount(String clientId) {
        KeycloakOwnerDirectory.Account a = account("service-account-" + clientId.toLowerCase(java.util.Locale.ROOT));
        if (!clientId.equals(a.serviceAccountClientId())) {
            throw new Failure(KeysCommand.REFUSED, "no service account of client " + safe(clientId) + " in Keycloak");
        }
        return identity(a.owner(), Identity.SERVICE_ACCOUNT, clientId);
    }

    private Identity identity(Owner o, String type, String clientId) {
        if (!o.enabled()) {
            throw new Failure(KeysCommand.REFUSED, "the owner " + o.username() + " is disabled in Keycloak");
        }
        store.saveOwner(o);
        return new Identity(o.subject(), o.username(), type, clientId, o.roles(), o.groups(), null,
                settings.required("attest.identity.issuer"), null);
    }

    private KeycloakOwnerDirectory.Account account(String username) {
        String issuerUrl = settings.optional("attest.identity.issuer").orElseThrow(() -> new Failure(
                KeysCommand.NOT_CONFIGURED, "attest.identity.issuer is not set: the owner is looked up in its realm"));
        String secret = AttestConfiguration.optionalSecret(settings, "attest.approval.admin.client-secret")
                .orElseThrow(() -> new Failure(KeysCommand.NOT_CONFIGURED, "no admin client secret (set the variable "
                        + "named by attest.approval.admin.client-secret-env, or attest.approval.admin.client-secret-file)"
                        + ": the owner is looked up in Keycloak"));
        String[] kc = KeycloakApproverDirectory.serverAndRealm(issuerUrl);
        String server = settings.string("attest.approval.admin.server-url", kc[0]);
        if (keycloak == null) {
            keycloak = new KeycloakOwnerDirectory(server, kc[1], settings.string("attest.approval.admin.client-id",
                    "attest-gateway"), secret);
        }
        try {
            return keycloak.byUsername(username).orElseThrow(() -> new Failure(KeysCommand.REFUSED,
                    "no user " + safe(username) + " in realm " + kc[1]));
        } catch (Failure e) {
            throw e;
        } catch (RuntimeException e) {
            throw new Failure(KeysCommand.NOT_CONFIGURED, "cannot look the owner up in Keycloak at " + server + " ("
                    + e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage()) + ")");
        }
    }

    private static String safe(String s) {
        return s.replaceAll("[^A-Za-z0-9_.@-]", "?");
    }

    /** The longest {@code --actor} taken. */
    static final int MAX_ACTOR = 128;

    /**
     * Who acts, as the evidence names them: {@code cli:} and the operating-system user who ran the command, after the
     * name given with {@code --actor} when there is one ({@code jane (cli:ops)}). The given name is the operator's
     * word, which nothing here can check (whoever holds the database login may run the command): the evidence
     * therefore never holds it alone. A name with control or format characters (a line break that would forge a second
     * log line, a direction override that would show another name), or longer than {@link #MAX_ACTOR}, is refused.
     */
    static String actor(String given) {
        String os = "cli:" + safe(System.getProperty("user.name", "unknown"));
        if (given == null || given.isBlank()) {
            return os;
        }
        String name = given.strip();
        if (name.length() > MAX_ACTOR || name.codePoints().anyMatch(cp -> Character.isISOControl(cp)
                || Character.getType(cp) == Character.FORMAT || Character.getType(cp) == Character.LINE_SEPARATOR
                || Character.getType(cp) == Character.PARAGRAPH_SEPARATOR
                || Character.getType(cp) == Character.SURROGATE || Character.getType(cp) == Character.UNASSIGNED)) {
            throw new Failure(KeysCommand.NOT_CONFIGURED, "--actor must be a name of at most " + MAX_ACTOR
                    + " characters, without control or format characters");
        }
        return name + " (" + os + ")";
    }

    @Override
    public void close() {
        if (keycloak != null) {
            keycloak.close();
        }
    }
}
