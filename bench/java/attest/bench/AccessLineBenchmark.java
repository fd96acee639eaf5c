package attest.bench;

import org.apache.logging.log4j.Logger;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.config.ConfigurationSource;
import org.apache.logging.log4j.core.config.xml.XmlConfiguration;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.regex.Matcher;

/**
 * The access line of a call at one connection: one line logged through the shipped log configuration (log4j2.xml,
 * its console swapped for /dev/null), then a pause of {@code pauseMicros} as a call's thread waits for the network
 * between two calls. {@code queue}: the shipped {@code LingeringQueue}, or log4j's default {@code ArrayBlockingQueue}
 * (the configuration before). At each iteration's end it prints the appender thread's context switches per line
 * (from /proc; the figure the lingering queue is for) and the process's CPU per line (all threads: the logging one,
 * the appender's, the JVM's own).
 * Run: {@code java -cp <test classpath> org.openjdk.jmh.Main AccessLineBenchmark} (docs/benchmarks.md).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Threads(1)
public class AccessLineBenchmark {
    @Param({"LingeringQueue", "ArrayBlockingQueue"})
    public String queue;

    @Param({"500"})
    public long pauseMicros;

    private LoggerContext context;
    private Logger access;
    private long lines;
    private long switchesBefore;
    private long cpuBefore;
    private int n;

    @Setup(Level.Trial)
    public void start() throws IOException {
        String xml;
        try (InputStream in = AccessLineBenchmark.class.getResourceAsStream("/log4j2.xml")) {
            xml = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        xml = xml.replaceFirst("(?s)<Console name=\"out\".*?</Console>",
                Matcher.quoteReplacement("<File name=\"out\" fileName=\"/dev/null\" append=\"true\">"
                        + "<PatternLayout pattern=\"%d %-5level [%t] %c{1} - %msg%n\"/></File>"));
        if ("ArrayBlockingQueue".equals(queue)) {
            xml = xml.replaceFirst("<LingeringQueue [^>]*/>", "");
        } else if (!xml.contains("<LingeringQueue")) {
            throw new IllegalStateException("the shipped configuration has no LingeringQueue");
        }
        context = new LoggerContext("bench-" + queue);
        context.start(new XmlConfiguration(context, new ConfigurationSource(
                new ByteArrayInputStream(xml.getBytes(StandardCharsets.UTF_8)))));
        access = context.getLogger("attest.access");
    }

    @Setup(Level.Iteration)
    public void mark() throws IOException {
        lines = 0;
        switchesBefore = appenderSwitches();
        cpuBefore = processCpuNanos();
    }

    @Benchmark
    public void accessLine() {
        n++;
        access.info("call ended: status={} outcome={} streamed={} duration_ms={}", 200, "completed", false, n & 7);
        lines++;
        LockSupport.parkNanos(pauseMicros * 1_000);
    }

    @TearDown(Level.Iteration)
    public void report() throws IOException {
        long switches = appenderSwitches() - switchesBefore;
        long cpu = processCpuNanos() - cpuBefore;
        System.out.printf("%n[%s] %d lines: appender thread %.3f context switches a line, process CPU %.1f us a line%n",
                queue, lines, switches / (double) lines, cpu / 1_000.0 / lines);
    }

    @TearDown(Level.Trial)
    public void stop() {
        context.stop();
    }

    /** Voluntary and involuntary switches of the async appender's thread (log4j names it Log4j2-AsyncAppenderEventDispatcher-..., cut to 15 characters by the OS). */
    private static long appenderSwitches() throws IOException {
        long sum = 0;
        try (var tasks = Files.list(Path.of("/proc/self/task"))) {
            for (Path t : (Iterable<Path>) tasks::iterator) {
                String comm;
                try {
                    comm = Files.readString(t.resolve("comm")).trim();
                } catch (IOException gone) {
                    continue;
                }
                if (!comm.contains("AsyncApp")) {
                    continue;
                }
                for (String line : Files.readAllLines(t.resolve("status"))) {
                    if (line.startsWith("voluntary_ctxt_switches") || line.startsWith("nonvoluntary_ctxt_switches")) {
                        sum += Long.parseLong(line.substring(line.indexOf(':') + 1).trim());
                    }
                }
            }
        }
        return sum;
    }

    private static long processCpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
                .getProcessCpuTime();
    }
}
