package attest.stack;

import java.io.IOException;

/**
 * The suite's Kafka broker, whoever runs it: {@link KafkaBroker} (a broker process, the default) or a container
 * ({@code -Pcontainers}). A stop keeps the data and the address for the next start.
 */
public interface KafkaService extends AutoCloseable {
    String bootstrap();

    void start() throws IOException;

    /** Stops the broker (as hard as the runner allows when {@code hard}), keeping its data and address. */
    void stop(boolean hard);

    boolean running();

    @Override
    void close();
}
