package attest.keys;

import attest.Exchanges;
import attest.http.InboundRequest;
import attest.ingress.PathNormalizer;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;

import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads what a {@code /keys} request asks for: sets properties {@code attestKeyAction} ({@code create} for
 * POST /keys, {@code list} for GET /keys, {@code revoke} for DELETE /keys/{id}, otherwise {@code unknown}) and
 * {@code attestKeyId}. Properties, never message headers: a caller's header cannot choose the action.
 */
public class ReadKeyPathProcessor implements Processor {
    public static final String ACTION = "attestKeyAction";
    public static final String KEY_ID = "attestKeyId";
    private static final Pattern ONE = Pattern.compile("^/keys/([0-9a-fA-F-]{36})/?$");

    @Override
    public void process(Exchange exchange) {
        InboundRequest in = exchange.getProperty(Exchanges.INBOUND, InboundRequest.class);
        String path = PathNormalizer.pathOrEmpty(in.uri());
        String action = "unknown";
        if (path.equals("/keys") || path.equals("/keys/")) {
            action = switch (in.method()) {
                case "POST" -> "create";
                case "GET" -> "list";
                default -> "unknown";
            };
        } else {
            Matcher m = ONE.matcher(path);
            if (m.matches() && "DELETE".equals(in.method())) {
                try {
                    exchange.setProperty(KEY_ID, UUID.fromString(m.group(1)));
                    action = "revoke";
                } catch (IllegalArgumentException e) {
                    action = "unknown";
                }
            }
        }
        exchange.setProperty(ACTION, action);
    }
}
