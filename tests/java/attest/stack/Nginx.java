package attest.stack;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Collectors;

/**
 * nginx as a round-robin load balancer in front of gateway replicas: Debian's {@code nginx}, installed with apt when
 * missing, run in the foreground with a configuration, logs and temp files of its own under {@code dir}.
 */
public final class Nginx implements AutoCloseable {
    private static final Path BINARY = Path.of("/usr/sbin/nginx");
    private final Process process;
    public final int port;
    public final Path accessLog;

    public Nginx(Path dir, int port, List<Integer> backends) throws IOException, InterruptedException {
        ensureInstalled();
        Files.createDirectories(dir);
        this.port = port;
        this.accessLog = dir.resolve("access.log");
        String servers = backends.stream().map(p -> "    server 127.0.0.1:" + p + " max_fails=1 fail_timeout=2s;")
                .collect(Collectors.joining("\n"));
        Path conf = dir.resolve("nginx.conf");
        Files.writeString(conf, """
                worker_processes 1;
                pid %1$s/nginx.pid;
                error_log %1$s/error.log warn;
                events { worker_connections 512; }
                http {
                  log_format replica '$upstream_addr $status $request_uri';
                  access_log %1$s/access.log replica;
                  client_body_temp_path %1$s/body;
                  proxy_temp_path %1$s/proxy;
                  fastcgi_temp_path %1$s/fastcgi;
                  uwsgi_temp_path %1$s/uwsgi;
                  scgi_temp_path %1$s/scgi;
                  upstream attest {
                %2$s
                  }
                  server {
                    listen 127.0.0.1:%3$d;
                    client_max_body_size 8m;
                    location / {
                      proxy_pass http://attest;
                      proxy_http_version 1.1;
                      proxy_set_header Connection "";
                      proxy_buffering off;
                      proxy_read_timeout 120s;
                      proxy_next_upstream error timeout;
                    }
                  }
                }
                """.formatted(dir.toAbsolutePath(), servers, port));
        this.process = new ProcessBuilder(BINARY.toString(), "-p", dir.toAbsolutePath().toString(), "-c", conf.toString(),
                "-g", "daemon off;").redirectErrorStream(true).redirectOutput(dir.resolve("stdout.log").toFile()).start();
        Waits.until("nginx on port " + port, Duration.ofSeconds(20), () -> Waits.portOpen("127.0.0.1", port), process);
    }

    public String url() {
        return "http://127.0.0.1:" + port;
    }

    public static synchronized void ensureInstalled() throws IOException, InterruptedException {
        if (Files.isExecutable(BINARY)) {
            return;
        }
        Browser.run(List.of("apt-get", "install", "-y", "-q", "nginx-light"), false);
        if (!Files.isExecutable(BINARY)) {
            Browser.run(List.of("apt-get", "update", "-q"), true);
            Browser.run(List.of("apt-get", "install", "-y", "-q", "nginx"), true);
        }
        if (!Files.isExecutable(BINARY)) {
            throw new IllegalStateException("Debian's nginx could not be installed");
        }
    }

    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(10, java.util.concurrent.TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor();
        }
    }
}
