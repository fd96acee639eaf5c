package attest.upstream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.List;
import java.util.concurrent.Flow;

import static org.assertj.core.api.Assertions.assertThat;

/** A stream's arrival times, as its evidence records them: one [ms since the first byte, bytes] per piece, capped. */
class StreamRelayTimingsTest {
    static final Flow.Subscription NONE = new Flow.Subscription() {
        @Override
        public void request(long n) {
        }

        @Override
        public void cancel() {
        }
    };

    @Test
    void should_record_each_piece_with_its_size_up_to_the_cap() throws Exception {
        StreamRelay relay = new StreamRelay(Clock.systemUTC(), 1 << 20);
        relay.onSubscribe(NONE);
        int pieces = StreamRelay.MAX_TIMINGS + 5;
        for (int i = 0; i < pieces; i++) {
            relay.onNext(List.of(ByteBuffer.wrap(("data: " + i + "\n\n").getBytes(StandardCharsets.UTF_8))));
        }
        relay.onNext(List.of(ByteBuffer.allocate(0))); // an empty buffer is no piece
        relay.onComplete();
        StreamEnd end = relay.ended().join();
        JsonNode timings = new ObjectMapper().readTree(end.timings());
        assertThat(timings.size()).isEqualTo(StreamRelay.MAX_TIMINGS);
        assertThat(timings.get(0).get(0).asLong()).isZero();
        long last = 0;
        for (int i = 0; i < timings.size(); i++) {
            assertThat(timings.get(i).size()).isEqualTo(2);
            assertThat(timings.get(i).get(1).asLong()).isEqualTo(("data: " + i + "\n\n").length());
            assertThat(timings.get(i).get(0).asLong()).isGreaterThanOrEqualTo(last);
            last = timings.get(i).get(0).asLong();
        }
        assertThat(end.rawSize()).isEqualTo(end.size()).isGreaterThan(pieces * 8L);
    }

    @Test
    void should_record_no_time_for_a_stream_with_no_body() throws Exception {
        StreamRelay relay = new StreamRelay(Clock.systemUTC(), 1 << 20);
        relay.onSubscribe(NONE);
        relay.onComplete();
        assertThat(relay.ended().join().timings()).isEqualTo("[]");
    }
}
