package attest;

import attest.evidence.chain.DatabaseSource;
import attest.evidence.chain.KeyFileSigner;
import attest.evidence.chain.Verifier;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PublicKey;
import java.sql.Connection;
import java.sql.DriverManager;
import java.util.HashMap;
import java.util.Map;

/**
 * {@code attest verify}: checks the evidence chains offline, from a read-only database connection.
 * <pre>
 *   attest.VerifyCommand --jdbc jdbc:postgresql://host/db [--user u] [--password-env VAR] --public-key key.pub ...
 *   attest.VerifyCommand --export DIR --public-key key.pub ...
 * </pre>
 * Exit codes: 0 valid, 1 tampered (first bad position and kind of fault), 2 unverifiable (missing key,
 * unreadable source, bad arguments). See docs/evidence-format.md.
 */
public final class VerifyCommand {
    private VerifyCommand() {
    }

    public static void main(String[] args) {
        System.exit(run(args, System.out));
    }

    public static int run(String[] args, java.io.PrintStream out) {
        String jdbc = null;
        Path export = null;
        attest.evidence.crypto.MasterKey master = null;
        String user = null;
        String password = null;
        Map<String, PublicKey> keys = new HashMap<>();
        try {
            for (int i = 0; i < args.length; i++) {
                switch (args[i]) {
                    case "--jdbc" -> jdbc = args[++i];
                    case "--export" -> export = Path.of(args[++i]);
                    case "--master-key-file" -> master = attest.evidence.crypto.MasterKey.fromFile(Path.of(args[++i]),
                            false);
                    case "--user" -> user = args[++i];
                    case "--password-env" -> password = System.getenv(args[++i]);
                    case "--public-key" -> {
                        PublicKey k = KeyFileSigner.publicKey(Files.readString(Path.of(args[++i])));
                        keys.put(KeyFileSigner.keyId(k), k);
                    }
                    default -> throw new IllegalArgumentException("unknown argument " + args[i]);
                }
            }
            if ((jdbc == null) == (export == null)) {
                throw new IllegalArgumentException("give --jdbc or --export");
            }
        } catch (Exception e) {
            out.println("UNVERIFIABLE: " + e.getMessage());
            out.println("usage: attest verify (--jdbc URL [--user U] [--password-env VAR] [--master-key-file F] "
                    + "| --export DIR) --public-key FILE ...");
            return Verifier.UNVERIFIABLE;
        }
        if (export != null) {
            try {
                return report(new Verifier(keys).verify(attest.evidence.chain.Export.read(export)), out);
            } catch (RuntimeException e) {
                out.println("UNVERIFIABLE: cannot read the export: " + e.getClass().getSimpleName());
                return Verifier.UNVERIFIABLE;
            }
        }
        try (Connection c = DriverManager.getConnection(jdbc, user, password)) {
            DatabaseSource source = new DatabaseSource(c, master);
            Verifier.Report report = new Verifier(keys).verify(source);
            if (source.encryptedSkipped()) {
                out.println("note: encrypted payloads were not checked against their digests (no --master-key-file)");
            }
            return report(report, out);
        } catch (Exception e) {
            out.println("UNVERIFIABLE: cannot read the evidence: " + e.getClass().getSimpleName());
            return Verifier.UNVERIFIABLE;
        }
    }

    private static int report(Verifier.Report report, java.io.PrintStream out) {
        {
            report.notes().forEach(n -> out.println("note: " + n));
            report.warnings().forEach(w -> out.println("warning: " + w));
            report.faults().forEach(f -> out.println("fault: " + f));
            out.println(report.summary());
            return report.code();
        }
    }
}
