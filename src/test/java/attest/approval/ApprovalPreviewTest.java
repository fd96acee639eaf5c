package attest.approval;

import attest.masking.Action;
import attest.masking.Masker;
import attest.masking.MaskingEngine;
import attest.masking.MaskingRuleSet;
import attest.masking.MaskingService;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The approvers' views of a held call show what it asks of the model (the model's name, its tools' names) beside
 * the masked prompt. Those names are the caller's text as much as the prompt is: regulated data in them must be
 * masked on the REST view, the page and the email alike, never only in the preview.
 */
class ApprovalPreviewTest {
    static final String CARD = "4111 1111 1111 1111";
    static final String EMAIL = "jane.doe@example.com";
    static final MaskingService MASKING = new MaskingService(List.of(new MaskingRuleSet("default", List.of(),
            List.of(), false, true, List.of(), new Masker(MaskingEngine.builtIn(), Map.of(), Action.REDACT,
            "k".repeat(32).getBytes(StandardCharsets.UTF_8)))), Duration.ofSeconds(5));

    static Approval held(String body) {
        Instant t = Instant.parse("2026-11-25T10:00:00Z");
        return new Approval(UUID.randomUUID(), UUID.randomUUID(), "r1", "pending", "sub-alice", "alice", "{}", "llm",
                "/v1/chat/completions", "POST", "/llm/v1/chat/completions", "{}",
                body.getBytes(StandardCharsets.UTF_8), "00", "{}", "prompt-extraction", "reason", "approver", null, 1,
                "masked", t, t.plusSeconds(600), null, null, null, null, List.of());
    }

    static final String BODY = "{\"model\":\"demo " + EMAIL + "\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
            + "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"mail " + EMAIL + "\"}},"
            + "{\"type\":\"function\",\"function\":{\"name\":\"" + "x".repeat(185) + " " + CARD + "\"}}],"
            + "\"functions\":[{\"name\":\"charge " + CARD + "\"}]}";

    @Test
    void should_mask_the_model_and_tool_names_in_every_approvers_view() {
        Approval a = held(BODY);
        CallShape shape = new ApprovalPreview(MASKING).shape(a);
        // still three tools and a model: the approver sees that they are offered
        assertThat(shape.tools()).hasSize(3);
        assertThat(shape.model()).startsWith("demo ");
        String json = ApprovalJson.full(a, shape, Instant.parse("2026-11-25T10:01:00Z")).toString();
        var templates = new ApprovalTemplates(java.nio.file.Path.of("approval-templates"));
        var rows = ApprovalTemplates.shape(shape);
        String email = templates.render(ApprovalTemplates.EMAIL, Map.of("approver", "bob", "approval", a,
                "shape", rows, "expires", "2026-11-25T10:10:00Z", "link", "https://attest.example/approvals/x/review"));
        String page = templates.render(ApprovalTemplates.PAGE, Map.ofEntries(Map.entry("approval", a),
                Map.entry("waitingSeconds", 60L), Map.entry("expires", "2026-11-25T10:10:00Z"),
                Map.entry("shape", rows), Map.entry("state", "pending"), Map.entry("decided", false),
                Map.entry("mayDecide", false), Map.entry("csrf", ""), Map.entry("ownCall", false),
                Map.entry("viewer", "bob")));
        for (String view : List.of(json, email, page)) {
            assertThat(view).doesNotContain(EMAIL).doesNotContain(CARD).doesNotContain("4111 1111 1111")
                    .doesNotContain("jane.doe");
        }
    }

    @Test
    void should_withhold_the_names_when_no_masking_rules_apply() {
        CallShape shape = new ApprovalPreview(new MaskingService(List.of(), Duration.ofSeconds(5))).shape(held(BODY));
        assertThat(shape.model()).isEqualTo("[withheld]");
        assertThat(shape.tools()).containsOnly("[withheld]");
    }

    @Test
    void should_mask_only_a_bounded_prefix_of_a_huge_name_and_show_nothing_near_its_cut() {
        java.util.List<Integer> masked = new java.util.ArrayList<>();
        String huge = "t".repeat(4090) + CARD + "u".repeat(1 << 20);
        CallShape shape = CallShape.of("llm", ("{\"tools\":[{\"function\":{\"name\":\"" + huge + "\"}}]}")
                .getBytes(StandardCharsets.UTF_8), s -> {
                    masked.add(s.length());
                    return s;
                });
        assertThat(masked).containsExactly(4096);
        assertThat(shape.tools().get(0)).isEqualTo("t".repeat(200) + "[...]");
        // a name masked down to little: the part near the cut, where an entity may be split, is not shown
        CallShape shrunk = CallShape.of("llm", ("{\"tools\":[{\"function\":{\"name\":\"" + huge + "\"}}]}")
                .getBytes(StandardCharsets.UTF_8), s -> "[EMAIL]" + s.substring(4000));
        assertThat(shrunk.tools().get(0)).isEqualTo("[...]").doesNotContain("4111");
    }
}
