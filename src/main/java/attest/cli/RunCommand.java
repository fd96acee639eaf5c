package attest.cli;

import attest.AttestConfiguration;
import attest.evidence.Database;
import org.apache.camel.main.Main;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/**
 * {@code attest run [--config FILE]}: the gateway alone, against an external PostgreSQL, Kafka and Keycloak.
 * The settings are the documented defaults (application.properties in the jar), then the {@code --config} file,
 * then environment variables ({@code ATTEST_DB_URL}), then system properties ({@code -Dattest.db.url=}), each
 * overriding the one before. Without {@code attest.db.url} it refuses to start: there is no embedded database.
 */
@Command(name = "run", mixinStandardHelpOptions = true,
        description = "Runs the gateway against an external PostgreSQL, Kafka and Keycloak.",
        versionProvider = AttestCommand.Version.class)
public final class RunCommand implements Callable<Integer> {
    /** Exit code when the settings do not allow a start (no database, unreadable --config). */
    public static final int NOT_CONFIGURED = 2;

    @Option(names = "--config", paramLabel = "FILE",
            description = "a properties file that overrides the defaults (see application.properties)")
    Path config;

    @Override
    public Integer call() throws Exception {
        if (config != null && !(Files.isRegularFile(config) && Files.isReadable(config))) {
            System.err.println("attest: cannot read the --config file " + config);
            return NOT_CONFIGURED;
        }
        EffectiveSettings settings = EffectiveSettings.load(config);
        if (settings.get("attest.db.url").isEmpty()) {
            System.err.println("attest: " + Database.NO_DATABASE);
            return NOT_CONFIGURED;
        }
        Main main = new Main();
        main.configure().addConfiguration(AttestConfiguration.class);
        main.setPropertyPlaceholderLocations(EffectiveSettings.locations(config));
        attest.ops.Drain.onSigterm(main); // SIGTERM: drain in-flight calls, then stop and exit 0
        return main.run(new String[0]);
    }
}
