package attest.bench;

import attest.Exchanges;
import org.apache.camel.Exchange;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.support.DefaultExchange;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

import java.lang.reflect.Field;
import java.util.concurrent.TimeUnit;

/**
 * Sizing a typed call state (issue #12; not built): exchange properties read by name ({@code Exchange.getProperty},
 * a string switch over Camel's own names, then a map look-up and a type check) on an exchange that holds every
 * {@link Exchanges} property, against one holder read by name and its fields read directly.
 * <ul>
 * <li>{@code fourHotReads}: {@code INBOUND}, {@code IDENTITY}, {@code TARGET}, {@code REQUEST_ID} by name;</li>
 * <li>{@code fourFieldsOfOneHolder}: one property (the holder) by name, then the four as its fields;</li>
 * <li>{@code everyPropertyOnce}: each of the {@link Exchanges} names once (about a call's property count).</li>
 * </ul>
 * Run: {@code java -cp <test classpath> org.openjdk.jmh.Main PropertyReadBenchmark} (docs/benchmarks.md).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class PropertyReadBenchmark {
    private Exchange exchange;
    private String[] names;

    /** What a typed call state would hold. */
    static final class Call {
        Object[] inbound;
        Object[] identity;
        Object[] target;
        Object[] requestId;
    }

    @Setup
    public void setup() throws Exception {
        exchange = new DefaultExchange(new DefaultCamelContext());
        java.util.List<String> n = new java.util.ArrayList<>();
        for (Field f : Exchanges.class.getFields()) {
            String name = (String) f.get(null);
            exchange.setProperty(name, new Object[]{name});
            n.add(name);
        }
        names = n.toArray(String[]::new);
        Call call = new Call();
        call.inbound = new Object[]{1};
        call.identity = new Object[]{2};
        call.target = new Object[]{3};
        call.requestId = new Object[]{4};
        exchange.setProperty("attestCall", call);
    }

    @Benchmark
    public int fourFieldsOfOneHolder() {
        Call c = exchange.getProperty("attestCall", Call.class);
        return c.inbound.length + c.identity.length + c.target.length + c.requestId.length;
    }

    @Benchmark
    public int fourHotReads() {
        int h = 0;
        h += exchange.getProperty(Exchanges.INBOUND, Object[].class).length;
        h += exchange.getProperty(Exchanges.IDENTITY, Object[].class).length;
        h += exchange.getProperty(Exchanges.TARGET, Object[].class).length;
        h += exchange.getProperty(Exchanges.REQUEST_ID, Object[].class).length;
        return h;
    }

    @Benchmark
    public int everyPropertyOnce() {
        int h = 0;
        for (String name : names) {
            h += exchange.getProperty(name, Object[].class).length;
        }
        return h;
    }
}
