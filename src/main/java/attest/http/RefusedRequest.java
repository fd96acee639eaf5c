package attest.http;

/**
 * A request the HTTP layer refused before any route saw it, as the evidence recorder gets it: metadata only.
 * The body is never part of it: {@code declaredSize} is the Content-Length the caller declared (null when none
 * or chunked), {@code sha256} the body's digest when it was read (small bodies only), else null ("not read").
 *
 * @param status     the HTTP status answered (401, 400, 408, 413, 414, 431, 503...)
 * @param code       the error code of the answer ({@code invalid_token}, {@code bad_request}...)
 * @param reason     why, safe to record (never a token or a body)
 * @param method     the request's method, or null when the request line was not read
 * @param target     the request-target, bounded and without control characters, or null
 * @param source     the caller's address
 * @param requestId  the gateway's own id for the refusal, which the answer names in X-Request-Id (a refusal keeps
 *                   no caller correlation id: its stored bytes stay bounded)
 * @param authError  for 401: why the token was refused
 * @param subject    who was refused when the door found a valid caller and still refused the request
 *                   ({@code too_many_denials}): the verified token's subject, or a virtual key's owner (as a call made
 *                   with the key names it); null otherwise (no credential, a bad one, a key not known by id)
 * @param keyId      the virtual key refused for {@code too_many_denials}, as its calls name it ({@code key_id}); null
 *                   for a token, or a key whose id the door does not know. Never the secret or its digest
 */
public record RefusedRequest(int status, String code, String reason, String method, String target, String source,
                             String requestId, Long declaredSize, String sha256, String authError, String subject,
                             java.util.UUID keyId) {
    /** A refusal of a caller named by its verified token's subject (or nobody). */
    public RefusedRequest(int status, String code, String reason, String method, String target, String source,
                          String requestId, Long declaredSize, String sha256, String authError, String subject) {
        this(status, code, reason, method, target, source, requestId, declaredSize, sha256, authError, subject, null);
    }

    /** A refusal of a request whose caller was not established. */
    public RefusedRequest(int status, String code, String reason, String method, String target, String source,
                          String requestId, Long declaredSize, String sha256, String authError) {
        this(status, code, reason, method, target, source, requestId, declaredSize, sha256, authError, null, null);
    }

    /** Longest request-target kept (characters, after control characters are replaced). */
    public static final int MAX_TARGET = 256;

    /** A request-target safe to store: control characters replaced, at most {@link #MAX_TARGET} characters. */
    public static String boundTarget(String target) {
        if (target == null) {
            return null;
        }
        StringBuilder b = new StringBuilder(Math.min(target.length(), MAX_TARGET));
        for (int i = 0; i < target.length() && b.length() < MAX_TARGET; i++) {
            char c = target.charAt(i);
            b.append(c < 0x20 || c == 0x7f || Character.isSurrogate(c) ? '?' : c);
        }
        return b.toString();
    }
}
