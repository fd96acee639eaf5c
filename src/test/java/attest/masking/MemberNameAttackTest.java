package attest.masking;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

/**
 * A helper's hostile review of member-name masking (ca59713), kept as regression tests: names and alternatives inside
 * streamed logprobs, names inside a whole answer's logprobs, a text split across events under a name that masking
 * renames, a Responses type or a choice index that holds an entity, and many names that mask alike (the renaming
 * was cubic: 4,000 such names took 57 s; the bound below is a guard against that blow-up, not a performance figure).
 */
class MemberNameAttackTest {
    static final Masker MASKER = JsonMaskerTest.MASKER;
    static final Masker BLOCK_EMAIL = new Masker(MaskingEngine.builtIn(), Map.of("EMAIL", Action.BLOCK),
            Action.REDACT, "k".repeat(32).getBytes(StandardCharsets.UTF_8));

    static String mask(String body, String ct, Masker m, List<Redaction> report) {
        return new String(AnswerMasker.mask(body.getBytes(StandardCharsets.UTF_8), ct, m, report::add),
                StandardCharsets.UTF_8);
    }

    // 1. Stream: a name in a legacy top_logprobs map is never scanned: leaks, and a block rule does not refuse.
    static final String LEGACY_SSE = "data: {\"choices\":[{\"index\":0,\"text\":\"hi\",\"logprobs\":{\"tokens\":[\"hi\"],"
            + "\"token_logprobs\":[-0.1],\"top_logprobs\":[{\"jane.doe@example.com\":-0.2}],\"text_offset\":[0]},"
            + "\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n";

    @Test
    void sse_legacy_top_logprobs_name_is_masked() {
        assertThat(mask(LEGACY_SSE, "text/event-stream", MASKER, new ArrayList<>())).doesNotContain("jane.doe");
    }

    @Test
    void sse_legacy_top_logprobs_name_is_blocked() {
        assertThatThrownBy(() -> mask(LEGACY_SSE, "text/event-stream", BLOCK_EMAIL, new ArrayList<>()))
                .isInstanceOf(BlockedException.class);
    }

    // 1b. (same channel, value not name) chat top_logprobs alternative token: whole body nulls logprobs, stream not
    @Test
    void sse_chat_top_logprobs_alternative_is_masked() {
        String sse = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"},\"logprobs\":{\"content\":[{\"token\":"
                + "\"hi\",\"logprob\":-0.1,\"top_logprobs\":[{\"token\":\"jane.doe@example.com\",\"logprob\":-0.2}]}]},"
                + "\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n";
        assertThat(mask(sse, "text/event-stream", MASKER, new ArrayList<>())).doesNotContain("jane.doe");
    }

    // 2. Whole body: member names inside a logprobs value are not masked (maskObject skips logprobs, and
    // logprobsTouched only reads names under top_logprobs).
    @Test
    void json_name_inside_logprobs_is_masked() {
        List<Redaction> r = new ArrayList<>();
        String out = mask("{\"logprobs\":{\"4111 1111 1111 1111\":-0.1}}", "application/json", MASKER, r);
        assertThat(out).doesNotContain("4111 1111");
        String out2 = mask("{\"choices\":[{\"message\":{\"content\":\"hi\"},\"logprobs\":{\"content\":[{\"token\":\"hi\","
                + "\"logprob\":-0.1,\"jane.doe@example.com\":1}]}}]}", "application/json", MASKER, r);
        assertThat(out2).doesNotContain("jane.doe");
    }

    // 3. Regression: text fields under a member whose name has a finding are no longer one text across events,
    // so a card split over two lines/events goes out in pieces (the same stream under a clean name is masked).
    @Test
    void ndjson_card_split_under_a_masked_name_is_found() {
        String body = "{\"jane.doe@example.com\":{\"content\":\"card 4111 1111 \"}}\n"
                + "{\"jane.doe@example.com\":{\"content\":\"1111 1111\"},\"done\":true}\n";
        List<Redaction> r = new ArrayList<>();
        String out = mask(body, "application/x-ndjson", MASKER, r);
        assertThat(r).extracting(Redaction::entityType).contains("CARD");
        assertThat(out).doesNotContain("4111 1111");
    }

    @Test
    void sse_card_split_under_a_masked_name_is_found() {
        String body = "data: {\"jane.doe@example.com\":{\"text\":\"card 4111 1111 \"}}\n\n"
                + "data: {\"jane.doe@example.com\":{\"text\":\"1111 1111\"}}\n\n";
        List<Redaction> r = new ArrayList<>();
        mask(body, "text/event-stream", MASKER, r);
        assertThat(r).extracting(Redaction::entityType).contains("CARD");
    }

    // 4. 62e56df: a Responses event type of digits matches [a-z0-9_.]{1,80}: the card reaches the report
    // (the caller's copy of the type is masked to response.[CARD].delta).
    @Test
    void responses_type_with_a_card_stays_out_of_the_report() {
        List<Redaction> r = new ArrayList<>();
        mask("data: {\"type\":\"response.4111111111111111.delta\",\"item_id\":\"a\",\"delta\":\"mail jane.doe@example.com\"}\n\n",
                "text/event-stream", MASKER, r);
        assertThat(r).extracting(Redaction::location).allSatisfy(l -> assertThat(l).doesNotContain("4111111111111111"));
    }

    // 5. 62e56df: a whole-number choice index that is a card number reaches the report as written.
    @Test
    void choice_index_that_is_a_card_stays_out_of_the_report() {
        List<Redaction> r = new ArrayList<>();
        mask("data: {\"choices\":[{\"index\":4111111111111111,\"delta\":{\"content\":\"mail jane.doe@example.com\"},"
                + "\"finish_reason\":\"stop\"}]}\n\n", "text/event-stream", MASKER, r);
        assertThat(r).isNotEmpty().extracting(Redaction::location)
                .allSatisfy(l -> assertThat(l).doesNotContain("4111111111111111"));
    }

    // 6. maskNames' suffix search is cubic in the members that mask alike (containsValue in the n loop).
    @Test
    void many_names_that_mask_alike_are_masked_in_time() {
        StringBuilder b = new StringBuilder("{\"scores\":{");
        for (int i = 0; i < 3000; i++) {
            b.append(i == 0 ? "" : ",").append("\"user").append(i).append("@example.com\":").append(i);
        }
        String body = b.append("}}").toString(); // ~75 KB
        assertTimeoutPreemptively(Duration.ofSeconds(20), () -> mask(body, "application/json", MASKER, new ArrayList<>()));
    }
}
