package attest.evidence;

import org.apache.camel.model.ModelLifecycleStrategy;
import org.apache.camel.model.RouteDefinition;
import org.apache.camel.model.RouteTemplateDefinition;

/**
 * Keeps the evidence relay route ({@code evidence-relay}) from starting when no Kafka brokers are
 * configured: events then wait in the outbox until brokers are configured and the gateway restarts.
 */
public class KafkaRelayPolicy implements ModelLifecycleStrategy {
    public static final String RELAY_ROUTE = "evidence-relay";
    private final boolean enabled;

    public KafkaRelayPolicy(boolean enabled) {
        this.enabled = enabled;
    }

    @Override
    public void onAddRouteDefinition(RouteDefinition definition) {
        if (!enabled && RELAY_ROUTE.equals(definition.getRouteId())) {
            definition.setAutoStartup("false");
        }
    }

    @Override
    public void onRemoveRouteDefinition(RouteDefinition definition) {
        // nothing to undo
    }

    @Override
    public void onAddRouteTemplateDefinition(RouteTemplateDefinition definition) {
        // no templates
    }

    @Override
    public void onRemoveRouteTemplateDefinition(RouteTemplateDefinition definition) {
        // no templates
    }
}
