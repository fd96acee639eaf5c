package attest.http;

import org.apache.camel.component.netty.ServerInitializerFactory;
import org.apache.camel.component.netty.http.HttpServerBootstrapFactory;
import org.apache.camel.component.netty.http.HttpServerConsumerChannelFactory;
import org.apache.camel.component.netty.http.NettyHttpComponent;
import org.apache.camel.component.netty.http.NettyHttpConsumer;
import org.apache.camel.support.service.ServiceHelper;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * camel-netty-http, except that a consumer configured with a {@link HardenedHttpServerInitializerFactory}
 * gets it. (The stock component builds every server pipeline itself and ignores the endpoint's
 * {@code serverInitializerFactory} option.) Every endpoint uses {@link GatewayHttpBinding}: no query or form
 * parameter becomes a message header, and response headers come only from {@link ResponseHeaders}.
 * Bound in the registry as {@code netty-http}.
 */
public class HardenedNettyHttpComponent extends NettyHttpComponent {
    private final Map<String, HttpServerBootstrapFactory> hardened = new ConcurrentHashMap<>();
    private final Map<Integer, ChannelGuards> guards = new ConcurrentHashMap<>();
    private final Map<Integer, PrefixConsumerDispatch> dispatchers = new ConcurrentHashMap<>();

    /** Puts the flood and exhaustion guards around every server pipeline on this port (see ChannelGuards). */
    public HardenedNettyHttpComponent guard(int port, ChannelGuards planeGuards) {
        guards.put(port, planeGuards);
        return this;
    }

    public HardenedNettyHttpComponent() {
        setNettyHttpBinding(new GatewayHttpBinding());
    }

    @Override
    protected HttpServerBootstrapFactory getOrCreateHttpNettyServerBootstrapFactory(NettyHttpConsumer consumer) {
        ServerInitializerFactory configured = consumer.getConfiguration().getServerInitializerFactory();
        ChannelGuards planeGuards = guards.get(consumer.getConfiguration().getPort());
        if (!(configured instanceof HardenedHttpServerInitializerFactory) && planeGuards == null) {
            return super.getOrCreateHttpNettyServerBootstrapFactory(consumer);
        }
        return hardened.computeIfAbsent(consumer.getConfiguration().getAddress(), address -> {
            HttpServerBootstrapFactory answer = new HttpServerBootstrapFactory(
                    getMultiplexChannelHandler(consumer.getConfiguration().getPort()));
            io.netty.channel.ChannelInitializer<io.netty.channel.Channel> pipeline =
                    configured instanceof HardenedHttpServerInitializerFactory factory
                            ? factory.createPipelineFactory(consumer)
                            : new org.apache.camel.component.netty.http.HttpServerInitializerFactory(consumer);
            answer.init(getCamelContext(), consumer.getConfiguration(),
                    planeGuards == null ? pipeline : planeGuards.around(pipeline));
            return answer;
        });
    }

    /** Each port's dispatcher to its consumers: the stock one, with a shortcut for a lone root consumer. */
    @Override
    public HttpServerConsumerChannelFactory getMultiplexChannelHandler(int port) {
        return dispatchers.computeIfAbsent(port, p -> {
            PrefixConsumerDispatch d = new PrefixConsumerDispatch();
            d.init(p);
            return d;
        });
    }

    @Override
    protected void doStop() throws Exception {
        super.doStop();
        dispatchers.clear();
        ServiceHelper.stopService(hardened.values());
        hardened.clear();
    }
}
