package attest.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Optional;
import java.util.Properties;
import java.util.function.Function;

/**
 * The settings a command sees before Camel starts, resolved as Camel Main resolves them: the documented defaults
 * (application.properties on the class path), then a {@code --config} file, then environment variables
 * ({@code attest.db.url} as {@code ATTEST_DB_URL}), then system properties, each overriding the one before.
 */
final class EffectiveSettings {
    static final String DEFAULTS = "application.properties";

    private final Properties files;
    private final Function<String, String> env;

    private EffectiveSettings(Properties files, Function<String, String> env) {
        this.files = files;
        this.env = env;
    }

    static EffectiveSettings load(Path config) throws IOException {
        return load(config, System::getenv);
    }

    static EffectiveSettings load(Path config, Function<String, String> env) throws IOException {
        Properties p = new Properties();
        try (InputStream in = EffectiveSettings.class.getClassLoader().getResourceAsStream(DEFAULTS)) {
            if (in != null) {
                p.load(in);
            }
        }
        if (config != null) {
            try (Reader r = Files.newBufferedReader(config)) {
                p.load(r);
            }
        }
        return new EffectiveSettings(p, env);
    }

    /**
     * The Camel property placeholder locations for the same order. Camel takes a key from the first location that
     * has it, so the {@code --config} file comes before the defaults (an empty value there counts too).
     */
    static String locations(Path config) {
        String defaults = "classpath:" + DEFAULTS;
        return config == null ? defaults : "file:" + config.toAbsolutePath() + "," + defaults;
    }

    /** The value of a setting, blank counted as absent. */
    Optional<String> get(String key) {
        String v = System.getProperty(key);
        if (v == null) {
            v = env.apply(key.toUpperCase(Locale.ROOT).replace('.', '_').replace('-', '_'));
        }
        if (v == null) {
            v = files.getProperty(key);
        }
        return Optional.ofNullable(v).map(String::trim).filter(s -> !s.isEmpty());
    }
}
