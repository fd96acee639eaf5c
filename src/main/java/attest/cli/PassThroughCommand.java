package attest.cli;

import picocli.CommandLine.Option;
import picocli.CommandLine.Unmatched;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/** A subcommand that hands its arguments, unchanged, to a tool with its own parser and exit codes. */
abstract class PassThroughCommand implements Callable<Integer> {
    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Shows this help.")
    boolean help;

    @Unmatched
    List<String> args = new ArrayList<>();

    @Override
    public Integer call() {
        return run(args.toArray(String[]::new), System.out);
    }

    abstract int run(String[] arguments, PrintStream out);
}
