package attest.containers;

import attest.stack.ContainerStack;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.testcontainers.DockerClientFactory;

/**
 * Under {@code -Pcontainers} (registered for every test by JUnit's extension auto-detection, which that profile
 * turns on): where no Docker engine is reachable, every test class is disabled before it starts anything, so the
 * run reports each as skipped, with the reason, and never as passed. With Docker, or without
 * {@code attest.stack=containers}, it changes nothing.
 */
public final class DockerCondition implements ExecutionCondition {
    private static volatile Boolean docker;

    @Override
    public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
        if (!ContainerStack.requested()) {
            return ConditionEvaluationResult.enabled("the Docker-free stack");
        }
        if (docker == null) {
            docker = DockerClientFactory.instance().isDockerAvailable();
        }
        return docker ? ConditionEvaluationResult.enabled("Docker is reachable")
                : ConditionEvaluationResult.disabled("no Docker engine reachable: the e2e suite against containers "
                + "(-Pcontainers) is skipped");
    }
}
