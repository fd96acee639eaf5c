package attest;

import attest.cli.AttestCommand;
import picocli.CommandLine;

/**
 * The {@code attest} command: {@code run} (the gateway; also what no subcommand means), {@code verify},
 * {@code export}, {@code keys} and {@code check-rules}. Everything the gateway runs is wired in {@link AttestConfiguration}.
 */
public final class App {
    private App() {
    }

    public static void main(String[] args) {
        attest.ops.JvmDefaults.apply(); // first: before anything touches the common fork-join pool
        if (args.length > 0 && "keys".equals(args[0])) {
            attest.cli.KeysCommand.quietLogs(); // it prints its own results; libraries say warnings only
        }
        System.exit(AttestCommand.commandLine().execute(args));
    }
}
