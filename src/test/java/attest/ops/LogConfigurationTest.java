package attest.ops;

import org.apache.logging.log4j.core.Appender;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.appender.AsyncAppender;
import org.apache.logging.log4j.core.appender.ConsoleAppender;
import org.apache.logging.log4j.core.config.ConfigurationSource;
import org.apache.logging.log4j.core.config.LoggerConfig;
import org.apache.logging.log4j.core.config.xml.XmlConfiguration;
import org.junit.jupiter.api.Test;

import java.io.InputStream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The shipped log configuration never writes to stdout on the thread that logs: a data-plane step logs on a Netty
 * event loop (the access line of every call), and a blocked stdout would stall every connection of that loop.
 */
class LogConfigurationTest {
    @Test
    void should_write_every_line_through_an_appender_that_never_blocks_the_logging_thread() throws Exception {
        try (InputStream in = getClass().getResourceAsStream("/log4j2.xml")) {
            XmlConfiguration config = new XmlConfiguration(new LoggerContext("test"), new ConfigurationSource(in));
            config.initialize();
            for (LoggerConfig logger : config.getLoggers().values()) {
                for (Appender a : logger.getAppenders().values()) {
                    assertThat(a).as(logger.getName()).isNotInstanceOf(ConsoleAppender.class);
                }
            }
            for (Appender a : config.getRootLogger().getAppenders().values()) {
                assertThat(a).isInstanceOf(AsyncAppender.class);
                assertThat(((AsyncAppender) a).isBlocking()).as("waits when its queue is full").isFalse();
            }
            assertThat(config.getRootLogger().getAppenders()).isNotEmpty();
        }
    }
}
