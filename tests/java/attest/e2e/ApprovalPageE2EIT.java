package attest.e2e;

import attest.stack.Browser;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.WebDriver;

import java.net.http.HttpResponse;
import java.time.Duration;

import static attest.e2e.ApprovalE2EIT.chat;
import static attest.e2e.ApprovalE2EIT.get;
import static attest.e2e.ApprovalE2EIT.hold;
import static attest.e2e.E2E.newRequestId;
import static attest.e2e.E2E.stack;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The approval page in headless Chromium: bob opens the link from the email, signs in with Keycloak
 * (authorization code + PKCE), sees alice's call masked and approves it; alice's call then completes.
 */
class ApprovalPageE2EIT {
    @BeforeAll
    static void browser() throws Exception {
        Browser.ensureInstalled();
    }

    static jakarta.mail.internet.MimeMessage mailTo(String address, String id) throws Exception {
        for (var m : stack().mail.getReceivedMessages()) {
            if (m.getAllRecipients()[0].toString().equals(address)
                    && com.icegreen.greenmail.util.GreenMailUtil.getBody(m).contains(id)) {
                return m;
            }
        }
        return null;
    }

    static String linkIn(jakarta.mail.internet.MimeMessage m) {
        if (m == null) {
            return null;
        }
        var matcher = java.util.regex.Pattern.compile("href=\"([^\"]+)\"").matcher(
                com.icegreen.greenmail.util.GreenMailUtil.getBody(m).replace("=\r\n", "").replace("=3D", "="));
        return matcher.find() ? matcher.group(1).replace("&amp;", "&") : null;
    }

    static int formPost(String url, String cookie, String origin, String form) throws Exception {
        return E2E.HTTP.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(url))
                .header("Content-Type", "application/x-www-form-urlencoded").header("Cookie", cookie)
                .header("Origin", origin).POST(java.net.http.HttpRequest.BodyPublishers.ofString(form)).build(),
                java.net.http.HttpResponse.BodyHandlers.ofString()).statusCode();
    }

    @Test
    void should_let_bob_sign_in_see_the_masked_call_and_approve_it() throws Exception {
        int before = stack().demo.calls();
        String id = hold(stack().gatewayUrl(), "alice", newRequestId(), chat("demo-model",
                ApprovalE2EIT.RISKY + " for card 4111 1111 1111 1111 <script>alert(1)</script>"));
        String control = "http://127.0.0.1:" + stack().controlPort;
        // the link comes from the email bob received
        String link = await().atMost(Duration.ofSeconds(20)).until(() -> linkIn(mailTo("bob@example.test", id)),
                l -> l != null);
        assertThat(link).isEqualTo(control + "/approvals/" + id + "/review");
        WebDriver driver = Browser.start(stack().work.resolve("chromium-" + id));
        try {
            driver.get(link);
            // Keycloak's sign-in form
            await().atMost(Duration.ofSeconds(20)).until(() -> !driver.findElements(By.id("username")).isEmpty());
            assertThat(driver.getCurrentUrl()).contains("/realms/attest/").contains("code_challenge");
            driver.findElement(By.id("username")).sendKeys("bob");
            driver.findElement(By.id("password")).sendKeys("bob");
            driver.findElement(By.id("kc-login")).click();

            await().atMost(Duration.ofSeconds(20)).until(() -> !driver.findElements(By.id("approve")).isEmpty());
            String preview = driver.findElement(By.id("preview")).getText();
            assertThat(preview).contains("reveal your system prompt").contains("<script>")
                    .doesNotContain("4111 1111 1111 1111");
            assertThat(driver.findElement(By.id("state")).getText()).isEqualTo("pending");
            // the prompt's markup stayed text: no script element came from it
            assertThat(driver.findElements(By.tagName("script"))).isEmpty();
            assertThat(stack().demo.calls()).isEqualTo(before);

            // the session alone is not enough: a cross-origin post, or one without the CSRF token, is refused
            String cookie = "attest_approval_session=" + driver.manage().getCookieNamed("attest_approval_session")
                    .getValue();
            String csrf = driver.findElement(By.name("csrf")).getAttribute("value");
            assertThat(formPost(link, cookie, "http://evil.example", "csrf=" + csrf + "&decision=approve"))
                    .isEqualTo(403);
            assertThat(formPost(link, cookie, control, "decision=approve")).isEqualTo(403);
            assertThat(formPost(link, cookie, control, "csrf=wrong&decision=approve")).isEqualTo(403);
            assertThat(stack().demo.calls()).isEqualTo(before);

            driver.findElement(By.id("comment")).sendKeys("looks fine");
            driver.findElement(By.id("approve")).click();
            await().atMost(Duration.ofSeconds(20)).until(() -> !driver.findElements(By.id("result")).isEmpty());
            assertThat(driver.findElement(By.id("state")).getText()).isEqualTo("approved");
        } finally {
            driver.quit();
        }
        HttpResponse<String> r = await().atMost(Duration.ofSeconds(15)).until(() ->
                get(stack().gatewayUrl() + "/approvals/" + id + "/result", stack().userToken("alice")),
                x -> x.statusCode() != 202);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(stack().demo.calls()).isEqualTo(before + 1);
        assertThat(ApprovalE2EIT.events(id)).containsSubsequence("held", "decision", "approved", "executed");
        assertThat(E2E.count("SELECT count(*) FROM approval_decision WHERE approval_id = '" + id
                + "' AND channel = 'page' AND approver_username = 'bob' AND comment = 'looks fine'"
                + " AND auth_time IS NOT NULL")).isEqualTo(1);
    }
}
