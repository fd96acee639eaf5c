package attest.upstream;

import attest.Settings;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Map;
import java.util.function.Function;

/**
 * Builds each upstream's credential from {@code attest.upstream.<name>.credential.*}. Secrets come from
 * the environment ({@code ...secret-env}) or a file ({@code ...secret-file}); a secret value itself is
 * never a setting, so it never lands in a committed properties file.
 */
public final class UpstreamCredentials {
    private final Function<String, String> env;
    private final Clock clock;

    public UpstreamCredentials(Function<String, String> env, Clock clock) {
        this.env = env;
        this.clock = clock;
    }

    public static UpstreamCredentials fromSystem() {
        Map<String, String> sysenv = System.getenv();
        return new UpstreamCredentials(sysenv::get, Clock.systemUTC());
    }

    public UpstreamCredential forUpstream(String upstream, Settings s) {
        String p = "attest.upstream." + upstream + ".credential.";
        String type = s.string(p + "type", "none");
        switch (type) {
            case "none":
                return UpstreamCredential.NONE;
            case "static": {
                String header = s.string(p + "header", "Authorization");
                String scheme = s.string(p + "scheme", header.equalsIgnoreCase("Authorization") ? "Bearer" : "");
                return new StaticSecretCredential(header, scheme, secret(s, p, "secret"),
                        source(s, p, "secret"));
            }
            case "oauth2":
                return new OAuth2ClientCredential(URI.create(s.required(p + "token-url")), s.required(p + "client-id"),
                        secret(s, p, "client-secret"), s.string(p + "scope", ""),
                        s.millis(p + "refresh-before-ms", 30_000), clock);
            default:
                throw new IllegalStateException(p + "type must be none, static or oauth2, got " + type);
        }
    }

    private String secret(Settings s, String p, String name) {
        var envName = s.optional(p + name + "-env");
        if (envName.isPresent()) {
            String v = env.apply(envName.get());
            if (v == null || v.isBlank()) {
                throw new IllegalStateException("environment variable " + envName.get() + " (for " + p + name
                        + "-env) is not set");
            }
            return v.strip();
        }
        var file = s.optional(p + name + "-file");
        if (file.isPresent()) {
            try {
                return Files.readString(Path.of(file.get())).strip();
            } catch (IOException e) {
                throw new IllegalStateException("cannot read " + p + name + "-file " + file.get());
            }
        }
        throw new IllegalStateException("set " + p + name + "-env or " + p + name + "-file");
    }

    private static String source(Settings s, String p, String name) {
        return s.optional(p + name + "-env").map(e -> "environment variable " + e)
                .orElseGet(() -> "file " + s.optional(p + name + "-file").orElse("?"));
    }
}
