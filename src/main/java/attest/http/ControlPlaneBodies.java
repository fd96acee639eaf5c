package attest.http;

import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.QueryStringDecoder;

import java.util.function.Predicate;

/**
 * Which control-plane requests may reach the aggregator without a valid bearer token: those without a body
 * (the health and metrics probes, the approval link's GET, the sign-in callback, and every GET, whose token the
 * route checks) and the approval page's form POST, which carries the page's session cookie instead of a token
 * (the route checks it, and answers 403 without one) and is small. Every other request with a body, and a larger
 * or chunked form, needs a valid token on its headers, so an anonymous client can make the plane buffer at most
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
                    && new QueryStringDecoder(request.uri()).path().endsWith(formPathSuffix);
        };
    }
}
