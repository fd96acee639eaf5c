package attest;

import attest.cli.AttestCommand;
import picocli.CommandLine;

/**
 * The {@code attest} command: {@code run} (the gateway; also what no subcommand means), {@code verify},
 * {@code export} and {@code check-rules}. Everything the gateway runs is wired in {@link AttestConfiguration}.
 */
public final class App {
    private App() {
    }

    public static void main(String[] args) {
        attest.ops.JvmDefaults.apply(); // first: before anything touches the common fork-join pool
        System.exit(AttestCommand.commandLine().execute(args));
    }
}
