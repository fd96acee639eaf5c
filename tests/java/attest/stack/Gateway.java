package attest.stack;

import attest.AttestConfiguration;
import org.apache.camel.CamelContext;
import org.apache.camel.main.Main;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;

/** The Attest gateway, run in this JVM on Camel Main exactly as {@code attest.App} runs it, with overrides. */
public final class Gateway implements AutoCloseable {
    private final Main main = new Main();
    private final Thread thread;
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    private final int dataPort;

    public Gateway(Map<String, String> overrides) {
        this(overrides, new AttestConfiguration());
    }

    /** With a configuration of its own (bench/guarantees.sh: the production one with a guard left out). */
    public Gateway(Map<String, String> overrides, AttestConfiguration configuration) {
        main.configure().addConfiguration(configuration);
        overrides.forEach(main::addOverrideProperty);
        this.dataPort = Integer.parseInt(overrides.getOrDefault("attest.data.port", "8080"));
        this.thread = new Thread(() -> {
            try {
                main.run();
            } catch (Throwable t) {
                failure.set(t);
            }
        }, "attest-gateway-main");
        thread.setDaemon(true);
    }

    /** Binds a bean before the start (the configuration looks some up, e.g. attestSpanExporter). */
    public Gateway bind(String name, Object bean) {
        main.bind(name, bean);
        return this;
    }

    public Gateway start() {
        thread.start();
        Waits.until("the Attest gateway on port " + dataPort, Duration.ofMinutes(2), () -> {
            if (failure.get() != null || (!thread.isAlive())) {
                throw new IllegalStateException("the gateway failed to start: " + (failure.get() == null
                        ? "main exited" : failure.get().getMessage()), failure.get());
            }
            CamelContext ctx = main.getCamelContext();
            return ctx != null && ctx.isStarted() && Waits.portOpen("127.0.0.1", dataPort);
        }, null);
        return this;
    }

    public CamelContext context() {
        return main.getCamelContext();
    }

    @Override
    public void close() {
        main.completed();
        try {
            thread.join(Duration.ofSeconds(30).toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
