package attest.cli;

import attest.ExportCommand;
import picocli.CommandLine.Command;

import java.io.PrintStream;

/** {@code attest export}: {@link ExportCommand}, with its options and exit codes unchanged. */
@Command(name = "export", description = {"Writes the evidence of a time range to a directory that verifies on its own.",
        "  attest export --jdbc URL [--user U] [--password-env VAR] --from T --to T --public-key FILE --out DIR "
                + "[--wait-ms MS]",
        "Exit codes: 0 exported, 1 the export failed, 2 bad arguments."})
public final class ExportCli extends PassThroughCommand {
    @Override
    int run(String[] arguments, PrintStream out) {
        return ExportCommand.run(arguments, out);
    }
}
