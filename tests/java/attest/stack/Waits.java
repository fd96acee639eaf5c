package attest.stack;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

/** Waiting for services to come up, with a deadline and a clear message of what is awaited. */
public final class Waits {
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    private Waits() {
    }

    public static boolean portOpen(String host, int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(host, port), 500);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    static boolean httpOk(String url) {
        try {
            HttpResponse<Void> r = HTTP.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(3))
                    .GET().build(), HttpResponse.BodyHandlers.discarding());
            return r.statusCode() == 200;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** Polls until the condition holds; the poll interval is the waiting, not a fixed sleep. */
    public static void until(String what, Duration timeout, BooleanSupplier condition, Process process) {
        long deadline = System.nanoTime() + timeout.toNanos();
        long started = System.nanoTime();
        long lastSay = started;
        while (!condition.getAsBoolean()) {
            if (process != null && !process.isAlive()) {
                throw new IllegalStateException(what + ": the process exited with " + process.exitValue());
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("timed out after " + timeout.toSeconds() + "s waiting for " + what);
            }
            if (System.nanoTime() - lastSay > Duration.ofSeconds(10).toNanos()) {
                lastSay = System.nanoTime();
                System.out.printf("[stack] still waiting for %s (%ds)%n", what,
                        Duration.ofNanos(lastSay - started).toSeconds());
            }
            LockSupport.parkNanos(Duration.ofMillis(250).toNanos());
        }
    }

    /** Stops a process and everything it started. */
    static void stop(Process p, Duration grace) {
        if (p == null || !p.isAlive()) {
            return;
        }
        var children = p.descendants().toList();
        p.destroy();
        children.forEach(ProcessHandle::destroy);
        try {
            if (!p.waitFor(grace.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS)) {
                children.forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly().waitFor();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        for (ProcessHandle c : children) {
            c.onExit().completeOnTimeout(c, grace.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS).join();
            if (c.isAlive()) {
                c.destroyForcibly();
            }
        }
    }
}
