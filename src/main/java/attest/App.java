package attest;

import org.apache.camel.main.Main;

/** Runs the Attest gateway on Camel Main. Everything is wired in {@link AttestConfiguration}. */
public final class App {
    private App() {
    }

    public static void main(String[] args) throws Exception {
        Main main = new Main();
        main.configure().addConfiguration(AttestConfiguration.class);
        attest.ops.Drain.onSigterm(main); // SIGTERM: drain in-flight calls, then stop and exit 0
        System.exit(main.run(args));
    }
}
