package attest.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.util.concurrent.Callable;

/** The top-level {@code attest} command. Without a subcommand it runs the gateway, as {@code attest run} does. */
@Command(name = "attest", mixinStandardHelpOptions = true, versionProvider = AttestCommand.Version.class,
        description = "Attest, the compliance-evidence gateway for AI inference.",
        subcommands = {RunCommand.class, VerifyCli.class, ExportCli.class, KeysCommand.class,
                CheckRulesCommand.class})
public final class AttestCommand implements Callable<Integer> {
    /** Exit code of a command line that cannot be used (unknown option, missing argument). */
    public static final int USAGE = CommandLine.ExitCode.USAGE;

    public static CommandLine commandLine() {
        return new CommandLine(new AttestCommand()).setExpandAtFiles(false); // invalid input exits with USAGE
    }

    @Override
    public Integer call() throws Exception {
        return new RunCommand().call();
    }

    /** The version from the jar's manifest (the build writes it), or "development" from a source checkout. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = AttestCommand.class.getPackage().getImplementationVersion();
            return new String[]{"attest " + (v == null ? "development" : v)};
        }
    }
}
