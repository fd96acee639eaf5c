package attest.logging;

import org.apache.logging.log4j.Logger;
import org.apache.logging.log4j.core.Appender;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.appender.AsyncAppender;
import org.apache.logging.log4j.core.config.ConfigurationSource;
import org.apache.logging.log4j.core.config.xml.XmlConfiguration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.lang.reflect.Field;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The shipped log configuration's appender (log4j2.xml): its queue is a {@link LingeringQueue}, lines still arrive
 * complete and in order, promptly at low traffic, and every queued line is written when logging stops. Its
 * console is swapped for a file, so that the test reads what was written.
 */
class LingeringLogTest {
    @TempDir
    Path dir;

    @Test
    void should_queue_the_shipped_configurations_lines_in_a_lingering_queue_of_100_ms() throws Exception {
        XmlConfiguration config = new XmlConfiguration(new LoggerContext("shipped"),
                new ConfigurationSource(new ByteArrayInputStream(shipped().getBytes(StandardCharsets.UTF_8))));
        config.initialize();
        AsyncAppender async = config.getAppender("async");
        assertThat(queue(async)).isInstanceOf(LingeringQueue.class);
        assertThat(shipped()).contains("<LingeringQueue lingerMillis=\"100\"/>");
    }

    @Test
    void should_write_a_lone_access_line_within_a_second_and_every_queued_line_at_stop_in_order() throws Exception {
        Path file = dir.resolve("out.log");
        LoggerContext ctx = start(file);
        Logger access = ctx.getLogger("attest.access");
        try {
            access.info("call ended: status=200 n=-1");
            await().atMost(Duration.ofSeconds(1)).untilAsserted(() ->
                    assertThat(Files.readAllLines(file)).containsExactly("call ended: status=200 n=-1"));
            for (int i = 0; i < 20_000; i++) {
                access.info("call ended: status=200 n={}", i);
            }
        } finally {
            ctx.stop(); // at once: the lines still queued (most of the 20,000) are written by the stop
        }
        List<String> lines = Files.readAllLines(file);
        assertThat(lines).hasSize(20_001);
        assertThat(lines.subList(1, lines.size())).containsExactlyElementsOf(
                IntStream.range(0, 20_000).mapToObj(i -> "call ended: status=200 n=" + i).toList());
    }

    @Test
    void should_write_lines_logged_from_many_threads_each_whole_and_each_threads_in_order() throws Exception {
        Path file = dir.resolve("many.log");
        LoggerContext ctx = start(file);
        Logger access = ctx.getLogger("attest.access");
        int threads = 8;
        int each = 2_000;
        try {
            List<Thread> ts = IntStream.range(0, threads).mapToObj(t -> started(() -> {
                for (int i = 0; i < each; i++) {
                    access.info("t={} n={} {}", t, i, "x".repeat(200));
                }
            })).toList();
            for (Thread t : ts) {
                t.join();
            }
            await().atMost(Duration.ofSeconds(5)).until(() -> Files.readAllLines(file).size() == threads * each);
        } finally {
            ctx.stop();
        }
        int[] next = new int[threads];
        Pattern line = Pattern.compile("t=(\\d) n=(\\d+) x{200}");
        for (String l : Files.readAllLines(file)) {
            Matcher m = line.matcher(l);
            assertThat(m.matches()).as(l).isTrue();
            assertThat(Integer.parseInt(m.group(2))).isEqualTo(next[Integer.parseInt(m.group(1))]++);
        }
        assertThat(next).containsOnly(each);
    }

    /** The shipped configuration, its console swapped for a file. */
    private LoggerContext start(Path file) throws Exception {
        String xml = shipped().replaceFirst("(?s)<Console name=\"out\".*?</Console>",
                Matcher.quoteReplacement("<File name=\"out\" fileName=\"" + file + "\">"
                        + "<PatternLayout pattern=\"%m%n\"/></File>"));
        assertThat(xml).contains("<File name=\"out\"");
        LoggerContext ctx = new LoggerContext("lingering-" + file.getFileName());
        ctx.start(new XmlConfiguration(ctx, new ConfigurationSource(
                new ByteArrayInputStream(xml.getBytes(StandardCharsets.UTF_8)))));
        assertThat(queue(ctx.getConfiguration().getAppender("async"))).isInstanceOf(LingeringQueue.class);
        return ctx;
    }

    private static String shipped() throws Exception {
        try (InputStream in = LingeringLogTest.class.getResourceAsStream("/log4j2.xml")) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    private static Object queue(Appender async) throws Exception {
        Field f = AsyncAppender.class.getDeclaredField("queue");
        f.setAccessible(true);
        return f.get(async);
    }

    private static Thread started(Runnable r) {
        Thread t = new Thread(r);
        t.setDaemon(true);
        t.start();
        return t;
    }
}
