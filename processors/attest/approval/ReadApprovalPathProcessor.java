package attest.approval;

import attest.Exchanges;
import attest.http.InboundRequest;
import attest.ingress.PathNormalizer;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;

import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads what an {@code /approvals} request asks for, and sets headers {@code attestApprovalAction} and
 * {@code attestApprovalId}. Actions: {@code list} (GET /approvals), {@code read} (GET /approvals/{id}),
 * {@code decide} (POST /approvals/{id}/decision), {@code page} and {@code page-decide} (GET and POST
 * /approvals/{id}/review), {@code result} (GET /approvals/{id}/result), {@code cancel}
 * (DELETE /approvals/{id}); anything else is {@code unknown}.
 */
public class ReadApprovalPathProcessor implements Processor {
    public static final String ACTION = "attestApprovalAction";
    private static final Pattern ONE = Pattern.compile("^/approvals/([0-9a-fA-F-]{36})(/[a-z]+)?/?$");

    @Override
    public void process(Exchange exchange) {
        InboundRequest in = exchange.getProperty(Exchanges.INBOUND, InboundRequest.class);
        String path = PathNormalizer.pathOrEmpty(in.uri());
        String action = "unknown";
        String id = null;
        if (path.equals("/approvals") || path.equals("/approvals/")) {
            action = "GET".equals(in.method()) ? "list" : "unknown";
        } else {
            Matcher m = ONE.matcher(path);
            if (m.matches() && parses(m.group(1))) {
                id = m.group(1).toLowerCase(java.util.Locale.ROOT);
                String sub = m.group(2) == null ? "" : m.group(2);
                action = switch (in.method() + " " + sub) {
                    case "GET " -> "read";
                    case "DELETE " -> "cancel";
                    case "POST /decision" -> "decide";
                    case "GET /review" -> "page";
                    case "POST /review" -> "page-decide";
                    case "GET /result" -> "result";
                    default -> "unknown";
                };
            }
        }
        exchange.getMessage().setHeader(ACTION, action);
        exchange.getMessage().setHeader(ApprovalTallyStrategy.APPROVAL_ID, id);
    }

    private static boolean parses(String id) {
        try {
            UUID.fromString(id);
            return true;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }
}
