package attest.approval;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

/**
 * The exact request a held call will execute: method, request-target (its query's credentials stripped), headers
 * (caller credentials already stripped) and body bytes, and the SHA-256 digest that binds an approval to them.
 * The digest is over {@code method LF uri LF headers-json LF body}, so any change to any part shows.
 */
public final class HeldRequest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private HeldRequest() {
    }

    public static String digest(String method, String uri, String headersJson, byte[] body) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            md.update((method + "\n" + uri + "\n" + headersJson + "\n").getBytes(StandardCharsets.UTF_8));
            md.update(body);
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * The request-target as it is held: without the query parameters that carry a credential
     * ({@link attest.upstream.CredentialStripper#stripQuery(String)}: {@code access_token}, {@code api_key},
     * {@code key}, ...), which the upstream would never have seen either. The held row is stored in clear, so a
     * caller's token sent beside its header would otherwise wait in the database for anyone who reads it.
     */
    public static String uriWithoutCredentials(String uri) {
        int q = uri.indexOf('?');
        if (q < 0) {
            return uri;
        }
        String kept = attest.upstream.CredentialStripper.stripQuery(uri.substring(q + 1));
        return kept == null ? uri.substring(0, q) : uri.substring(0, q) + "?" + kept;
    }

    public static String headersJson(List<Map.Entry<String, String>> headers) {
        List<List<String>> pairs = new ArrayList<>(headers.size());
        for (Map.Entry<String, String> e : headers) {
            pairs.add(List.of(e.getKey(), e.getValue()));
        }
        try {
            return JSON.writeValueAsString(pairs);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    public static List<Map.Entry<String, String>> headers(String json) {
        try {
            List<List<String>> pairs = JSON.readValue(json, new TypeReference<>() {
            });
            List<Map.Entry<String, String>> out = new ArrayList<>(pairs.size());
            for (List<String> p : pairs) {
                out.add(Map.entry(p.get(0), p.get(1)));
            }
            return out;
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("stored headers are not readable");
        }
    }

    /** Whether a stored call still matches the digest it was approved under. */
    public static boolean intact(Approval a) {
        return MessageDigest.isEqual(a.requestSha256().getBytes(StandardCharsets.US_ASCII),
                digest(a.method(), a.requestUri(), a.requestHeaders(), a.requestBody())
                        .getBytes(StandardCharsets.US_ASCII));
    }
}
