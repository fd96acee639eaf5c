package attest.logging;

import org.apache.logging.log4j.core.async.BlockingQueueFactory;
import org.apache.logging.log4j.core.config.Node;
import org.apache.logging.log4j.core.config.plugins.Plugin;
import org.apache.logging.log4j.core.config.plugins.PluginAttribute;
import org.apache.logging.log4j.core.config.plugins.PluginFactory;

import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * {@code <LingeringQueue lingerMillis="100"/>} inside log4j's {@code <Async>} appender: its queue is a
 * {@link LingeringQueue}, which wakes the appender's thread once per window of lines rather than once per line.
 * Found by log4j through the plugin index that log4j's annotation processor writes at compile time (pom.xml).
 */
@Plugin(name = "LingeringQueue", category = Node.CATEGORY, elementType = BlockingQueueFactory.ELEMENT_TYPE)
public final class LingeringQueueFactory<E> implements BlockingQueueFactory<E> {
    /** The default window: a line is written at most this long after it is logged. */
    public static final long DEFAULT_LINGER_MILLIS = 100;

    private final long lingerMillis;

    private LingeringQueueFactory(long lingerMillis) {
        this.lingerMillis = lingerMillis;
    }

    @Override
    public BlockingQueue<E> create(int capacity) {
        return new LingeringQueue<>(capacity, TimeUnit.MILLISECONDS.toNanos(lingerMillis));
    }

    public long lingerMillis() {
        return lingerMillis;
    }

    @PluginFactory
    public static <E> LingeringQueueFactory<E> createFactory(
            @PluginAttribute(value = "lingerMillis", defaultLong = DEFAULT_LINGER_MILLIS) long lingerMillis) {
        if (lingerMillis < 0 || lingerMillis > 1_000) {
            throw new IllegalArgumentException("lingerMillis must be 0-1000, was " + lingerMillis);
        }
        return new LingeringQueueFactory<>(lingerMillis);
    }
}
