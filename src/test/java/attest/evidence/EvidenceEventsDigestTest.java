package attest.evidence;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.HexFormat;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The raw (unmasked) answer's digest on the Kafka topic is keyed: a reader of the topic who guesses a short
 * answer ("yes", a card number's last digits) cannot confirm the guess by hashing it (issue 10).
 */
class EvidenceEventsDigestTest {
    static JsonNode event(String rawSha256) throws Exception {
        EvidenceRecord r = new EvidenceRecord();
        r.setId(UUID.randomUUID());
        r.setRequestId("rid");
        r.setInstanceId("t");
        r.setOutcome("completed");
        r.setRawResponseSha256(rawSha256);
        return new ObjectMapper().readTree(EvidenceEvents.terminal(r, "t", Instant.EPOCH).getPayload());
    }

    static String sha256(String s) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    void should_never_put_a_guessable_digest_of_the_raw_answer_on_the_topic() throws Exception {
        byte[] master = new byte[32];
        master[0] = 7;
        EvidenceEvents.keyDigestsWith(new attest.evidence.crypto.MasterKey(master)
                .derive(EvidenceEvents.DIGEST_KEY_LABEL));
        String guess = sha256("yes");
        JsonNode e = event(guess);
        assertThat(e.path("schema_version").asInt()).isEqualTo(2);
        JsonNode res = e.path("record").path("response");
        assertThat(res.has("raw_sha256")).isFalse();
        String keyed = res.path("raw_hmac_sha256").asText();
        assertThat(keyed).hasSize(64).isNotEqualTo(guess);
        assertThat(e.toString()).doesNotContain(guess);
        // a key holder ties it to the chain's raw_sha256; another master key gives another value
        javax.crypto.Mac mac = javax.crypto.Mac.getInstance("HmacSHA256");
        mac.init(new javax.crypto.spec.SecretKeySpec(new attest.evidence.crypto.MasterKey(master)
                .derive(EvidenceEvents.DIGEST_KEY_LABEL), "HmacSHA256"));
        assertThat(keyed).isEqualTo(HexFormat.of().formatHex(mac.doFinal(guess.getBytes(StandardCharsets.US_ASCII))));
        byte[] other = new byte[32];
        EvidenceEvents.keyDigestsWith(new attest.evidence.crypto.MasterKey(other).derive(EvidenceEvents.DIGEST_KEY_LABEL));
        assertThat(event(guess).path("record").path("response").path("raw_hmac_sha256").asText()).isNotEqualTo(keyed);
        assertThat(event(null).path("record").path("response").path("raw_hmac_sha256").isNull()).isTrue();
    }
}
