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
 *   attest.VerifyCommand --receipt FILE --public-key key.pub ...
 *   options: --from T --to T (the range that must be covered), --witness FILE (checkpoints a Kafka consumer saved),
 *            --tolerance-ms MS (heartbeat slack, 5000), --heartbeat-ms MS (for checkpoints of format 1, 10000)
 * </pre>
 * Exit codes: 0 valid, 1 TAMPERED (first bad position and kind of fault) or INCOMPLETE (the uncovered span),
 * 2 unverifiable (missing key, unreadable source, bad arguments). See docs/evidence-format.md.
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
        java.time.Instant from = null;
        java.time.Instant to = null;
        long toleranceMs = 5_000;
        long heartbeatMs = 10_000;
        java.util.List<Verifier.Witnessed> witnesses = new java.util.ArrayList<>();
        Path receipt = null;
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
                    case "--from" -> from = java.time.Instant.parse(args[++i]);
                    case "--to" -> to = java.time.Instant.parse(args[++i]);
                    case "--tolerance-ms" -> toleranceMs = Long.parseLong(args[++i]);
                    case "--heartbeat-ms" -> heartbeatMs = Long.parseLong(args[++i]);
                    case "--witness" -> witnesses.addAll(attest.evidence.chain.Witness.read(Path.of(args[++i])));
                    case "--receipt" -> receipt = Path.of(args[++i]);
                    default -> throw new IllegalArgumentException("unknown argument " + args[i]);
                }
            }
            if (receipt == null && (jdbc == null) == (export == null)) {
                throw new IllegalArgumentException("give --jdbc, --export or --receipt");
            }
            if ((from == null) != (to == null) || (from != null && !from.isBefore(to))) {
                throw new IllegalArgumentException("give both --from and --to, from before to");
            }
        } catch (Exception e) {
            out.println("UNVERIFIABLE: " + e.getMessage());
            out.println("usage: attest verify (--jdbc URL [--user U] [--password-env VAR] [--master-key-file F] "
                    + "| --export DIR | --receipt FILE) --public-key FILE ... [--from T --to T] [--witness FILE ...] "
                    + "[--tolerance-ms MS] [--heartbeat-ms MS]");
            return Verifier.UNVERIFIABLE;
        }
        if (keys.isEmpty()) {
            out.println("note: no --public-key given: no checkpoint can be trusted");
        }
        Verifier.Options options = new Verifier.Options(from, to, toleranceMs, heartbeatMs, witnesses);
        if (receipt != null) {
            try {
                return report(attest.evidence.chain.Receipts.verify(Files.readAllBytes(receipt), keys), out);
            } catch (java.io.IOException e) {
                out.println("UNVERIFIABLE: cannot read the receipt");
                return Verifier.UNVERIFIABLE;
            }
        }
        if (export != null) {
            try {
                return report(new Verifier(keys).verify(attest.evidence.chain.Export.read(export), options), out);
            } catch (attest.evidence.chain.Export.Unreadable e) {
                out.println("UNVERIFIABLE: cannot read the export: " + e.getMessage());
                return Verifier.UNVERIFIABLE;
            } catch (RuntimeException e) {
                // never an exception's class or trace: what the auditor needs is that nothing was verified
                out.println("UNVERIFIABLE: the export could not be verified (it could not be read as an export)");
                return Verifier.UNVERIFIABLE;
            }
        }
        try (Connection c = DriverManager.getConnection(jdbc, user, password)) {
            DatabaseSource source = new DatabaseSource(c, master);
            Verifier.Report report = new Verifier(keys).verify(source, options);
            if (source.payloadsUnreadable()) {
                out.println("note: payloads were not checked against their digests (this login may not read them)");
            } else if (source.encryptedSkipped()) {
                out.println("note: encrypted payloads were not checked against their digests (no --master-key-file)");
            }
            return report(report, out);
        } catch (java.sql.SQLException e) {
            out.println("UNVERIFIABLE: cannot read the evidence (SQL state " + e.getSQLState() + ")");
            return Verifier.UNVERIFIABLE;
        } catch (RuntimeException e) {
            out.println("UNVERIFIABLE: cannot read the evidence");
            return Verifier.UNVERIFIABLE;
        }
    }

    private static int report(Verifier.Report report, java.io.PrintStream out) {
        {
            report.notes().forEach(n -> out.println("note: " + n));
            report.warnings().forEach(w -> out.println("warning: " + w));
            report.faults().forEach(f -> out.println("fault: " + f));
            report.gaps().forEach(g -> out.println("incomplete: " + g));
            out.println(report.summary());
            return report.code();
        }
    }
}
