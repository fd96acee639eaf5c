package attest.audit;

import attest.Exchanges;
import attest.http.InboundRequest;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;

import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads what an {@code /audit/records/...} request asks for; sets headers {@code attestAuditAction}
 * ({@code payload}: GET .../{id}/payload, {@code replay-view}: GET .../{id}/replay, {@code replay-run}:
 * POST .../{id}/replay, else {@code unknown}) and {@code attestAuditRecordId}.
 */
public class ReadAuditRecordPathProcessor implements Processor {
    public static final String ACTION = "attestAuditAction";
    public static final String RECORD_ID = "attestAuditRecordId";
    private static final Pattern PATH = Pattern.compile("^/audit/records/([0-9a-fA-F-]{36})/(payload|replay)$");

    @Override
    public void process(Exchange exchange) {
        InboundRequest in = exchange.getProperty(Exchanges.INBOUND, InboundRequest.class);
        Matcher m = PATH.matcher(in.uri());
        String action = "unknown";
        if (m.matches()) {
            try {
                exchange.getMessage().setHeader(RECORD_ID, UUID.fromString(m.group(1)));
                action = switch (in.method() + " " + m.group(2)) {
                    case "GET payload" -> "payload";
                    case "GET replay" -> "replay-view";
                    case "POST replay" -> "replay-run";
                    default -> "unknown";
                };
            } catch (IllegalArgumentException e) {
                action = "unknown";
            }
        }
        exchange.getMessage().setHeader(ACTION, action);
    }
}
