package attest.keys;

import attest.identity.Credential;
import attest.identity.InvalidTokenException;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CredentialTest {
    static final String KEY = "atk_" + "A".repeat(43);
    static final String OTHER = "atk_" + "B".repeat(43);

    static Credential read(String... headers) {
        Map<String, List<String>> h = new LinkedHashMap<>();
        for (int i = 0; i < headers.length; i += 2) {
            h.computeIfAbsent(headers[i].toLowerCase(), k -> new ArrayList<>()).add(headers[i + 1]);
        }
        return Credential.read(name -> h.getOrDefault(name.toLowerCase(), List.of()));
    }

    static String refusal(String... headers) {
        return assertThrows(InvalidTokenException.class, () -> read(headers)).reason();
    }

    @Test
    void should_read_a_key_from_each_header_an_sdk_sends() {
        assertEquals(new Credential(Credential.KEY, KEY), read("Authorization", "Bearer " + KEY));
        assertEquals(new Credential(Credential.KEY, KEY), read("authorization", "bearer " + KEY));
        assertEquals(new Credential(Credential.KEY, KEY), read("api-key", KEY));
        assertEquals(new Credential(Credential.KEY, KEY), read("X-Api-Key", KEY));
        assertEquals(new Credential(Credential.KEY, KEY), read("Authorization", "Bearer " + KEY, "x-api-key", KEY),
                "the same key twice is one credential");
        assertEquals(new Credential(Credential.TOKEN, "Bearer eyJ.x.y"), read("Authorization", "Bearer eyJ.x.y"));
    }

    @Test
    void should_refuse_anything_but_exactly_one_credential() {
        assertEquals("no bearer token", refusal());
        assertEquals("a bearer token and a virtual key together", refusal("Authorization", "Bearer eyJ.x.y",
                "x-api-key", KEY));
        assertEquals("more than one virtual key", refusal("api-key", KEY, "x-api-key", OTHER));
        assertEquals("more than one virtual key", refusal("Authorization", "Bearer " + KEY, "api-key", OTHER));
        assertEquals("more than one x-api-key header", refusal("x-api-key", KEY, "x-api-key", KEY));
        assertEquals("more than one Authorization header", refusal("Authorization", "Bearer a", "Authorization", "Bearer b"));
        assertEquals("api-key is not a virtual key", refusal("api-key", "sk-live-123"));
        assertTrue(refusal("x-api-key", "eyJ.x.y").contains("not a virtual key"));
    }

    @Test
    void should_refuse_a_key_header_spelt_with_an_underscore_as_an_uncounted_second_credential() {
        // the stripping reads X_API_KEY as x-api-key and drops it, so beside a token it was a second credential that
        // nothing counted (200 with the token's identity); alone, a key under it is not read either
        for (String name : List.of("X_API_KEY", "x_api_key", "api_key", "API_KEY", "X-Api_Key", "x_api-key")) {
            assertTrue(refusal("Authorization", "Bearer eyJ.x.y", name, KEY).contains("spelt with '_'"), name);
            assertTrue(refusal(name, KEY).contains("spelt with '_'"), name);
            assertTrue(refusal("x-api-key", KEY, name, KEY).contains("spelt with '_'"), name);
        }
    }

    @Test
    void should_drop_a_header_carrying_the_secret_base64_encoded_at_any_offset_and_keep_the_others() {
        java.util.Random r = new java.util.Random(7);
        for (int i = 0; i < 300; i++) {
            String secret = randomSecret(r, i);
            Credential c = credential(i, secret);
            String before = randomText(r, r.nextInt(9));
            String after = randomText(r, r.nextInt(9));
            byte[] plain = (before + secret + after).getBytes(java.nio.charset.StandardCharsets.UTF_8);
            String std = java.util.Base64.getEncoder().encodeToString(plain);
            String url = java.util.Base64.getUrlEncoder().withoutPadding().encodeToString(plain);
            String other = java.util.Base64.getEncoder().encodeToString(
                    (before + randomText(r, secret.length()) + after).getBytes(java.nio.charset.StandardCharsets.UTF_8));
            List<Map.Entry<String, String>> headers = List.of(Map.entry("x-a", "Basic " + std),
                    Map.entry("x-b", "v1." + url + ".end"), Map.entry("x-c", other), Map.entry("user-agent", "sdk/1"));
            assertEquals(List.of(Map.entry("x-c", other), Map.entry("user-agent", "sdk/1")),
                    Credential.withoutSecret(c, headers), "secret " + secret + " after '" + before + "'");
        }
    }

    @Test
    void should_drop_a_header_and_refuse_a_query_carrying_the_secret_hex_encoded_in_any_case() {
        java.util.Random r = new java.util.Random(11);
        for (int i = 0; i < 200; i++) {
            String secret = randomSecret(r, i);
            Credential c = credential(i, secret);
            byte[] plain = (randomText(r, r.nextInt(9)) + secret + randomText(r, r.nextInt(9)))
                    .getBytes(java.nio.charset.StandardCharsets.UTF_8);
            String lower = java.util.HexFormat.of().formatHex(plain);
            String upper = lower.toUpperCase(java.util.Locale.ROOT);
            StringBuilder mixed = new StringBuilder(lower);
            for (int j = 0; j < mixed.length(); j++) {
                if (r.nextBoolean()) {
                    mixed.setCharAt(j, Character.toUpperCase(mixed.charAt(j)));
                }
            }
            String other = java.util.HexFormat.of().formatHex(randomText(r, secret.length())
                    .getBytes(java.nio.charset.StandardCharsets.UTF_8));
            List<Map.Entry<String, String>> headers = List.of(Map.entry("x-a", lower), Map.entry("x-b", "v1." + upper
                    + ".end"), Map.entry("x-c", mixed.toString()), Map.entry("x-d", other), Map.entry("user-agent", "sdk/1"));
            assertEquals(List.of(Map.entry("x-d", other), Map.entry("user-agent", "sdk/1")),
                    Credential.withoutSecret(c, headers), "secret " + secret);
            for (String form : List.of(lower, upper, mixed.toString())) {
                assertTrue(Credential.carries("a=1&x=" + form, c.secret()), form);
            }
            assertEquals(false, Credential.carries("x=" + other, c.secret()));
        }
    }

    /** A key on even rounds, a token-like text on odd ones. */
    static String randomSecret(java.util.Random r, int i) {
        return i % 2 == 0 ? KeySecrets.generate() : "eyJ" + randomText(r, 40 + r.nextInt(400));
    }

    static Credential credential(int i, String secret) {
        return new Credential(i % 2 == 0 ? Credential.KEY : Credential.TOKEN, i % 2 == 0 ? secret : "Bearer " + secret);
    }

    static String randomText(java.util.Random r, int n) {
        String alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.:/+~";
        StringBuilder b = new StringBuilder(n);
        for (int i = 0; i < n; i++) {
            b.append(alphabet.charAt(r.nextInt(alphabet.length())));
        }
        return b.toString();
    }

    @Test
    void should_only_look_up_secrets_of_the_exact_key_form() {
        String k = KeySecrets.generate();
        assertTrue(KeySecrets.wellFormed(k));
        assertEquals(47, k.length());
        assertTrue(!KeySecrets.wellFormed(k + "A"));
        assertTrue(!KeySecrets.wellFormed(k.substring(0, 46)));
        assertTrue(!KeySecrets.wellFormed("atk_" + "A".repeat(42) + "="));
        assertTrue(!KeySecrets.wellFormed("ATK_" + "A".repeat(43)));
        assertTrue(!KeySecrets.wellFormed(null));
        assertTrue(!k.equals(KeySecrets.generate()), "secrets are random");
        assertEquals(32, KeySecrets.digest(k).length);
    }
}
