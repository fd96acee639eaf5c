package attest.approval;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The shipped approval templates escape by default: a prompt, a requester name, a reason and call details carrying
 * HTML and script arrive as text on the page and in both emails, never as markup; a missing template stops the start.
 */
class ApprovalTemplatesTest {
    static final String HOSTILE = "</pre><script>alert('x')</script><img src=x onerror=alert(1)>\"'&";
    final ApprovalTemplates templates = new ApprovalTemplates(Path.of("approval-templates"));

    static Approval approval(String preview) {
        Instant t = Instant.parse("2026-11-25T10:00:00Z");
        return new Approval(UUID.fromString("00000000-0000-4000-8000-0000000000a1"), UUID.randomUUID(), "r1", "pending",
                "sub-alice", "alice<b>" + HOSTILE, "{}", "llm", "/v1/chat/completions\"><script>1</script>", "POST",
                "/llm/v1/chat/completions", "{}", "{\"model\":\"<svg onload=alert(1)>\"}".getBytes(), "00",
                "{}", "rule<script>", "reason " + HOSTILE, "approver", null, 1, preview, t, t.plusSeconds(600), null,
                null, null, null, List.of());
    }

    static void assertInert(String html) {
        assertThat(html).doesNotContain("<script").doesNotContain("<img").doesNotContain("<svg")
                .doesNotContain("alice<b>").contains("alice&lt;b&gt;").contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;")
                .contains("&lt;svg onload=alert(1)&gt;");
    }

    @Test
    void should_render_a_hostile_prompt_as_text_on_the_approval_page() {
        Approval a = approval(HOSTILE);
        Map<String, Object> v = new HashMap<>();
        v.put("approval", a);
        v.put("waitingSeconds", 3L);
        v.put("expires", a.expiresAt().toString());
        v.put("shape", ApprovalTemplates.shape(CallShape.of(a.upstream(), a.requestBody())));
        v.put("state", "pending");
        v.put("decided", false);
        v.put("mayDecide", true);
        v.put("csrf", "tok\"><script>");
        v.put("ownCall", false);
        v.put("viewer", "bob<i>");
        String html = templates.render(ApprovalTemplates.PAGE, v);
        assertInert(html);
        assertThat(html).contains("<pre id=\"preview\">&lt;/pre&gt;&lt;script&gt;")
                .contains("value=\"tok&quot;&gt;&lt;script&gt;\"").contains("Signed in as bob&lt;i&gt;")
                .contains("id=\"approve\"").contains("action=\"/approvals/00000000-0000-4000-8000-0000000000a1/review\"")
                .doesNotContain("id=\"result\"");
    }

    @Test
    void should_show_no_form_once_decided_or_to_the_requester() {
        Approval a = approval("hello");
        Map<String, Object> v = new HashMap<>(Map.of("approval", a, "waitingSeconds", 1L, "expires", "x",
                "shape", List.of(), "state", "approved", "decided", true, "mayDecide", false, "csrf", "",
                "ownCall", false, "viewer", "bob"));
        assertThat(templates.render(ApprovalTemplates.PAGE, v)).doesNotContain("<form")
                .contains("<p id=\"result\">Your decision was recorded.</p>");
        v.put("decided", false);
        v.put("ownCall", true);
        assertThat(templates.render(ApprovalTemplates.PAGE, v)).doesNotContain("<form")
                .contains("This is your own call: you cannot decide it.");
    }

    @Test
    void should_render_a_hostile_prompt_as_text_in_the_approval_email_and_the_digest() {
        Approval a = approval(HOSTILE);
        String email = templates.render(ApprovalTemplates.EMAIL, Map.of("approver", "bob<script>", "approval", a,
                "shape", ApprovalTemplates.shape(CallShape.of(a.upstream(), a.requestBody())), "expires", "2026",
                "link", "https://attest.example/approvals/1/review\"><script>"));
        assertInert(email);
        assertThat(email).contains("href=\"https://attest.example/approvals/1/review&quot;&gt;&lt;script&gt;\"");
        String digest = templates.render(ApprovalTemplates.DIGEST, Map.of("approver", "bob<script>alert('x')</script>",
                "calls", 4, "link", "https://attest.example/approvals"));
        assertThat(digest).doesNotContain("<script").contains("4 more calls")
                .contains("GET https://attest.example/approvals");
    }

    @Test
    void should_refuse_to_start_without_a_template(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("approval-page.html"), "<p></p>");
        Files.writeString(dir.resolve("approval-email.html"), "<p></p>");
        assertThatThrownBy(() -> new ApprovalTemplates(dir)).hasMessageContaining("approval-digest.html");
    }
}
