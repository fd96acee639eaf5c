package attest.policy;

import attest.identity.Identity;
import attest.rules.YamlTree;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

class PolicyEngineTest {
    static final String POLICY = """
            rules:
              - id: deny-contractors
                decision: DENY
                reason: contractors may not call models
                match:
                  groups: [/contractors]
                  paths: ['**']
              - id: review-big-model
                decision: REVIEW
                reason: the big model needs approval
                match:
                  roles: [inference-user]
                  upstreams: [llm]
                  models: ['big-*']
              - id: chat
                decision: ALLOW
                reason: inference users may chat
                match:
                  roles: [inference-user]
                  upstreams: [llm]
                  methods: [POST]
                  paths: [/v1/chat/completions, /v1/completions]
                limits:
                  max-body-bytes: 1000
                  max-tokens: 512
                  requests-per-minute: 3
              - id: batch-embeddings
                decision: ALLOW
                reason: the batch job may embed
                match:
                  clients: [batch-job]
                  paths: [/v1/embeddings/*]
              - id: tf-serving
                decision: ALLOW
                reason: model serving for the scoring team
                match:
                  subjects: [scorer]
                  upstreams: [tf]
                  paths: ['/v1/models/**']
            """;

    static PolicyEngine engine() {
        return new PolicyEngine(PolicyFile.parse(YamlTree.parse("policy.yaml", POLICY), Set.of("llm", "tf")),
                RateLimiter.inMemory(Clock.fixed(Instant.parse("2026-11-25T12:00:30Z"), ZoneOffset.UTC)));
    }

    static Identity who(String name, String roles, String groups, String client) {
        return new Identity("sub-" + name, name, Identity.USER, client, split(roles), split(groups), "jti", "iss", null);
    }

    static List<String> split(String s) {
        return s == null || s.isBlank() ? List.of() : List.of(s.split("\\|"));
    }

    @ParameterizedTest(name = "{0} {3} {4} {5} model={6} -> {8} {9}")
    @CsvSource(nullValues = "-", textBlock = """
            # who,   roles,          groups,       client,     upstream, method, path,                     model,       maxTokens, verdict, rule,                status
            alice,   inference-user, -,            attest-cli, llm,      POST,   /v1/chat/completions,     demo,        100,       ALLOW,  chat,                0
            alice,   inference-user, -,            attest-cli, llm,      POST,   /v1/completions,          -,           -,         REVIEW, review-big-model,    0
            alice,   inference-user, -,            attest-cli, llm,      GET,    /v1/chat/completions,     demo,        -,         DENY,   default-deny,        403
            alice,   inference-user, -,            attest-cli, llm,      POST,   /v1/embeddings,           demo,        -,         DENY,   default-deny,        403
            alice,   inference-user, -,            attest-cli, llm,      POST,   /v1/chat/completions/x,   demo,        -,         DENY,   default-deny,        403
            alice,   inference-user, -,            attest-cli, tf,       POST,   /v1/chat/completions,     demo,        -,         DENY,   default-deny,        403
            alice,   inference-user, -,            attest-cli, llm,      POST,   /v1/chat/completions,     big-70b,     -,         REVIEW, review-big-model,    0
            alice,   inference-user, -,            attest-cli, llm,      POST,   /v1/chat/completions,     demo,        513,       DENY,   chat,                403
            alice,   inference-user, -,            attest-cli, llm,      POST,   /v1/chat/completions,     demo,        512,       ALLOW,  chat,                0
            carl,    inference-user, /contractors, attest-cli, llm,      POST,   /v1/chat/completions,     demo,        -,         DENY,   deny-contractors,    403
            dave,    -,              -,            attest-cli, llm,      POST,   /v1/chat/completions,     demo,        -,         DENY,   default-deny,        403
            dave,    approver,       -,            attest-cli, llm,      POST,   /v1/chat/completions,     demo,        -,         DENY,   default-deny,        403
            job,     -,              -,            batch-job,  llm,      POST,   /v1/embeddings/small,     -,           -,         ALLOW,  batch-embeddings,    0
            job,     -,              -,            batch-job,  llm,      POST,   /v1/embeddings/a/b,       -,           -,         DENY,   default-deny,        403
            job,     -,              -,            other-app,  llm,      POST,   /v1/embeddings/small,     -,           -,         DENY,   default-deny,        403
            scorer,  -,              -,            attest-cli, tf,       POST,   /v1/models/m:predict,     -,           -,         ALLOW,  tf-serving,          0
            scorer,  -,              -,            attest-cli, tf,       POST,   /v1/models/a/versions/2,  -,           -,         ALLOW,  tf-serving,          0
            """)
    void should_decide(String name, String roles, String groups, String client, String upstream, String method,
                       String path, String model, Long maxTokens, Verdict verdict, String rule, int status) {
        Decision d = engine().decide(who(name, roles, groups, client), upstream, method, path,
                new RequestFacts(model, maxTokens, false, 10));
        assertThat(d.verdict()).isEqualTo(verdict);
        assertThat(d.ruleId()).isEqualTo(rule);
        assertThat(d.status()).isEqualTo(status);
        assertThat(d.reason()).isNotBlank();
    }

    @Test
    void should_refuse_a_body_no_token_limit_can_be_written_into_when_a_ceiling_applies() {
        Identity alice = who("alice", "inference-user", null, "attest-cli");
        Decision csv = engine().decide(alice, "llm", "POST", "/v1/chat/completions",
                new RequestFacts("demo", null, false, 10, false));
        assertThat(csv.verdict()).isEqualTo(Verdict.DENY);
        assertThat(csv.status()).isEqualTo(403);
        assertThat(csv.reason()).contains("not a JSON object");
        // a JSON object without a limit is allowed: the ceiling is written into it afterwards
        assertThat(engine().decide(alice, "llm", "POST", "/v1/chat/completions",
                new RequestFacts("demo", null, false, 10, true)).verdict()).isEqualTo(Verdict.ALLOW);
        // the ceiling is what is written when the rule names no default
        assertThat(engine().rule("chat").orElseThrow().injectedMaxTokens()).isEqualTo(512L);
    }

    @Test
    void should_refuse_an_oversized_body_with_413() {
        Decision d = engine().decide(who("alice", "inference-user", null, "attest-cli"), "llm", "POST",
                "/v1/chat/completions", new RequestFacts("demo", null, false, 1001));
        assertThat(d.verdict()).isEqualTo(Verdict.DENY);
        assertThat(d.status()).isEqualTo(413);
        assertThat(d.ruleId()).isEqualTo("chat");
    }

    @Test
    void should_rate_limit_per_identity_with_retry_after() {
        PolicyEngine e = engine();
        Identity alice = who("alice", "inference-user", null, "attest-cli");
        Identity bob = who("bob", "inference-user", null, "attest-cli");
        RequestFacts f = new RequestFacts("demo", null, false, 10);
        for (int i = 0; i < 3; i++) {
            assertThat(e.decide(alice, "llm", "POST", "/v1/chat/completions", f).verdict()).isEqualTo(Verdict.ALLOW);
        }
        Decision fourth = e.decide(alice, "llm", "POST", "/v1/chat/completions", f);
        assertThat(fourth.status()).isEqualTo(429);
        assertThat(fourth.retryAfterSeconds()).isEqualTo(30);
        // another caller has their own budget
        assertThat(e.decide(bob, "llm", "POST", "/v1/chat/completions", f).verdict()).isEqualTo(Verdict.ALLOW);
    }
}
