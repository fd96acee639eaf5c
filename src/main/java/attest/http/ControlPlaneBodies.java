package attest.http;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.QueryStringDecoder;

import java.util.function.Predicate;

/**
 * Which control-plane requests may reach the aggregator without a valid bearer token: those without a body
 * (the health and metrics probes, the approval link's GET, the sign-in callback, and every GET, whose token the
 * route checks) and the approval page's form POST, which carries the page's session cookie instead of a token
 * (the route checks it, and answers 403 without one) and is small. It passes only as a browser with a session
 * sends it: POST, a form's Content-Type, and the session cookie with a session id's form on its headers. Every
 * other request with a body, and a larger or chunked form, needs a valid token on its headers, so a client without
 * a session cookie cannot make the plane buffer a body at all, and one that forges a cookie at most
 * {@code smallBody} bytes per connection (docs/security.md: a request without a valid token is refused on its
 * headers, its body never buffered).
 */
public final class ControlPlaneBodies {
    /** The approval page's form path ends so: {@code /approvals/{id}/review} (routes/control-approvals). */
    public static final String PAGE_FORM = "/review";

    private ControlPlaneBodies() {
    }

    /**
     * Requests the early token check lets through to their route, which checks them itself.
     *
     * @param formPathSuffix the last segment of the approval page's path ({@code /review})
     * @param smallBody      the largest form body let through without a token
     */
    public static Predicate<HttpRequest> exempt(String formPathSuffix, long smallBody) {
        return request -> {
            Long declared = Refusals.declaredLength(request);
            boolean chunked = HttpUtil.isTransferEncodingChunked(request);
            if (!chunked && (declared == null || declared == 0)) {
                return true;
            }
            return !chunked && declared != null && declared <= smallBody && !HttpUtil.is100ContinueExpected(request)
                    && HttpMethod.POST.equals(request.method())
                    && new QueryStringDecoder(request.uri()).path().endsWith(formPathSuffix)
                    && isForm(request) && hasSessionCookie(request);
        };
    }

    /** The page session's cookie (attest.approval.ReadApprovalSessionProcessor.COOKIE). */
    public static final String SESSION_COOKIE = "attest_approval_session";
    /** A session id as the page issues it: 32 random bytes, base64url without padding. */
    private static final java.util.regex.Pattern SESSION_ID = java.util.regex.Pattern.compile("[A-Za-z0-9_-]{43}");

    /** Whether the body is declared as an HTML form's ({@code application/x-www-form-urlencoded}, any parameters). */
    static boolean isForm(HttpRequest request) {
        String type = request.headers().get(HttpHeaderNames.CONTENT_TYPE);
        if (type == null) {
            return false;
        }
        int semicolon = type.indexOf(';');
        return (semicolon < 0 ? type : type.substring(0, semicolon)).strip()
                .equalsIgnoreCase("application/x-www-form-urlencoded");
    }

    /**
     * Whether the headers carry the page session's cookie with a value of a session id's form. Whether the session
     * exists is the route's check (a database read, never on the I/O thread); this only turns away a client that
     * has no session at all, before its body is buffered.
     */
    static boolean hasSessionCookie(HttpRequest request) {
        for (String header : request.headers().getAll(HttpHeaderNames.COOKIE)) {
            for (String part : header.split(";")) {
                String p = part.strip();
                if (p.startsWith(SESSION_COOKIE + "=")
                        && SESSION_ID.matcher(p.substring(SESSION_COOKIE.length() + 1)).matches()) {
                    return true;
                }
            }
        }
        return false;
    }
}
