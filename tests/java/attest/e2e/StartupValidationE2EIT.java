package attest.e2e;

import attest.stack.Gateway;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static attest.e2e.E2E.stack;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** A bad policy file stops the gateway's start, naming the file, the line and the problem. */
class StartupValidationE2EIT {
    @Test
    void should_refuse_to_start_with_a_bad_policy_file() throws Exception {
        Path bad = stack().work.resolve("bad-policy.yaml");
        Files.writeString(bad, """
                rules:
                  - id: ok
                    decision: ALLOW
                    reason: fine
                    match:
                      roles: [inference-user]
                  - id: broken
                    decision: PERHAPS
                    reason: typo in the decision
                    match:
                      roles: [inference-user]
                """);
        Map<String, String> settings = stack().extraGatewaySettings();
        settings.put("attest.policy.file", bad.toString());
        Gateway g = new Gateway(settings);
        try {
            assertThatThrownBy(g::start).hasMessageContaining(bad + ":8: decision must be ALLOW, DENY or REVIEW");
        } finally {
            g.close();
        }
    }
}
