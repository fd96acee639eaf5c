package attest.stack;

import java.util.ArrayDeque;
import java.util.Deque;

/** What a launcher started, stopped in reverse order: on close, and when the JVM exits (Ctrl-C). */
public final class Started implements AutoCloseable {
    private final Deque<AutoCloseable> services = new ArrayDeque<>();
    private final String name;

    public Started(String name) {
        this.name = name;
        Runtime.getRuntime().addShutdownHook(new Thread(this::close, name + "-stop"));
    }

    public <T extends AutoCloseable> T add(T service) {
        synchronized (services) {
            services.push(service);
        }
        return service;
    }

    @Override
    public void close() {
        while (true) {
            AutoCloseable next;
            synchronized (services) {
                if (services.isEmpty()) {
                    return;
                }
                next = services.pop();
            }
            try {
                next.close();
            } catch (Exception e) {
                System.out.println("[" + name + "] stop: " + e.getMessage());
            }
        }
    }
}
