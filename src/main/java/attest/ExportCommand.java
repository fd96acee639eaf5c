package attest;

import attest.evidence.chain.Export;
import attest.evidence.chain.KeyFileSigner;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PublicKey;
import java.sql.Connection;
import java.sql.DriverManager;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code attest export}: writes the evidence of a time range to a directory that verifies on its own.
 * <pre>
 *   attest.ExportCommand --jdbc URL [--user U] [--password-env VAR] --from 2026-11-18T00:00:00Z
 *                        --to 2026-11-25T00:00:00Z --public-key key.pub --out DIR [--wait-ms 11000]
 * </pre>
 * Range proofs: per chain, the last checkpoint signed at or before {@code --from}, the first signed at or after
 * {@code --to} (waited for up to {@code --wait-ms}, a heartbeat period and a tick), and every entry in between.
 */
public final class ExportCommand {
    private ExportCommand() {
    }

    public static void main(String[] args) {
        System.exit(run(args, System.out));
    }

    public static int run(String[] args, java.io.PrintStream out) {
        String jdbc = null;
        String user = null;
        String password = null;
        Instant from = null;
        Instant to = null;
        Path dir = null;
        List<PublicKey> keys = new ArrayList<>();
        long waitMs = 11_000;
        try {
            for (int i = 0; i < args.length; i++) {
                switch (args[i]) {
                    case "--jdbc" -> jdbc = args[++i];
                    case "--user" -> user = args[++i];
                    case "--password-env" -> password = System.getenv(args[++i]);
                    case "--from" -> from = Instant.parse(args[++i]);
                    case "--to" -> to = Instant.parse(args[++i]);
                    case "--out" -> dir = Path.of(args[++i]);
                    case "--wait-ms" -> waitMs = Long.parseLong(args[++i]);
                    case "--public-key" -> keys.add(KeyFileSigner.publicKey(Files.readString(Path.of(args[++i]))));
                    default -> throw new IllegalArgumentException("unknown argument " + args[i]);
                }
            }
            if (jdbc == null || from == null || to == null || dir == null) {
                throw new IllegalArgumentException("--jdbc, --from, --to and --out are required");
            }
        } catch (Exception e) {
            out.println("error: " + e.getMessage());
            out.println("usage: attest export --jdbc URL [--user U] [--password-env VAR] --from T --to T "
                    + "--public-key FILE --out DIR [--wait-ms MS]");
            return 2;
        }
        try (Connection c = DriverManager.getConnection(jdbc, user, password)) {
            c.setReadOnly(true);
            long n = Export.write(c, from, to, keys, dir, java.time.Duration.ofMillis(waitMs));
            out.println("exported " + n + " entries to " + dir);
            return 0;
        } catch (Exception e) {
            // a changed read path names what changed (ReadPath); anything else only its kind
            out.println("error: the export failed: " + e.getClass().getSimpleName()
                    + (e instanceof IllegalStateException && e.getMessage() != null
                    && e.getMessage().contains("read_path_changed") ? ": " + e.getMessage() : ""));
            return 1;
        }
    }
}
