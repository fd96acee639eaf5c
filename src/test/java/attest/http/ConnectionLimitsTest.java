package attest.http;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class ConnectionLimitsTest {

    /** caps (total, per source), then a sequence of opens (+src) and closes (-src): the outcome of each open. */
    @ParameterizedTest(name = "{0}/{1}: {2} -> {3}")
    @CsvSource(delimiter = '|', value = {
            "3|2|+a +a +a|ok ok PER_SOURCE",
            "3|2|+a +b +c +d|ok ok ok TOTAL",
            "3|2|+a +a -a +a|ok ok ok",
            "2|0|+a +a +a|ok ok TOTAL",
            "0|1|+a +b +a|ok ok PER_SOURCE",
            "0|0|+a +a +a +a|ok ok ok ok",
            "2|2|+a +b -a -b +c +c +c|ok ok ok ok TOTAL"})
    void should_admit_within_both_caps(int total, int perSource, String ops, String expected) {
        ConnectionLimits limits = new ConnectionLimits(total, perSource);
        StringBuilder got = new StringBuilder();
        for (String op : ops.split(" ")) {
            String source = op.substring(1);
            if (op.startsWith("-")) {
                limits.release(source);
                continue;
            }
            ConnectionLimits.Refusal r = limits.tryAcquire(source);
            got.append(got.length() == 0 ? "" : " ").append(r == null ? "ok" : r.name());
        }
        assertThat(got.toString()).isEqualTo(expected);
    }

    @Test
    void should_forget_a_source_when_its_last_connection_closes() {
        ConnectionLimits limits = new ConnectionLimits(10, 10);
        limits.tryAcquire("a");
        limits.tryAcquire(null);
        assertThat(limits.open()).isEqualTo(2);
        limits.release("a");
        limits.release(null);
        assertThat(limits.open()).isZero();
        assertThat(limits.open("a")).isZero();
    }
}
