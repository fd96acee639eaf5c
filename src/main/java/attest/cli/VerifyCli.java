package attest.cli;

import attest.VerifyCommand;
import picocli.CommandLine.Command;

import java.io.PrintStream;

/** {@code attest verify}: {@link VerifyCommand}, with its options and exit codes unchanged. */
@Command(name = "verify", description = {"Checks the evidence chains offline (see docs/evidence-format.md).",
        "  attest verify (--jdbc URL [--user U] [--password-env VAR] [--master-key-file F] | --export DIR "
                + "| --receipt FILE) --public-key FILE ... [--from T --to T] [--witness FILE ...] "
                + "[--tolerance-ms MS] [--heartbeat-ms MS]",
        "Exit codes: 0 valid, 1 tampered or incomplete, 2 unverifiable."})
public final class VerifyCli extends PassThroughCommand {
    @Override
    int run(String[] arguments, PrintStream out) {
        return VerifyCommand.run(arguments, out);
    }
}
