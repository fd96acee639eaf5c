package attest.usage;

import attest.Exchanges;
import attest.upstream.StreamRelay;
import attest.upstream.UpstreamResponse;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;

import java.io.IOException;

/**
 * Reads the answer's token usage into {@code attestUsage}, after masking: from a JSON answer's {@code usage}
 * (Chat Completions, Completions, Responses API); from an event stream as it passes (a tap installed after the
 * masking transform, so it sees every event the caller would); from an event stream buffered whole (a held call
 * executed later). Where the gateway asked for the usage chunk ({@code attestStripUsage}), the tap removes it from
 * what the caller gets, live or buffered. An answer without usage leaves the meter {@code unknown}.
 */
public class ReadUsageProcessor implements Processor {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Override
    public void process(Exchange exchange) {
        UsageMeter meter = exchange.getProperty(Exchanges.USAGE, UsageMeter.class);
        UpstreamResponse up = exchange.getProperty(Exchanges.UPSTREAM_RESPONSE, UpstreamResponse.class);
        if (meter == null || up == null) {
            return;
        }
        boolean strip = exchange.getProperty(Exchanges.STRIP_USAGE, false, Boolean.class);
        if (up.streaming()) {
            StreamRelay relay = up.stream();
            StreamRelay.Transform inner = relay.transform();
            UsageTap tap = new UsageTap(meter, strip);
            relay.transform(new StreamRelay.Transform() {
                @Override
                public byte[] push(byte[] raw) {
                    return tap.push(inner == null ? raw : inner.push(raw));
                }

                @Override
                public byte[] finish() {
                    byte[] rest = inner == null ? new byte[0] : tap.push(inner.finish());
                    byte[] last = tap.finish();
                    byte[] out = java.util.Arrays.copyOf(rest, rest.length + last.length);
                    System.arraycopy(last, 0, out, rest.length, last.length);
                    return out;
                }

                @Override
                public byte[] abandon() {
                    // what the masker still releases at a break-off goes to the caller: the tap sees it too
                    return inner == null ? new byte[0] : tap.push(inner.abandon());
                }
            });
            return;
        }
        byte[] body = up.body() == null ? new byte[0] : up.body();
        String type = up.header("Content-Type");
        if (type != null && type.toLowerCase(java.util.Locale.ROOT).startsWith("text/event-stream")) {
            byte[] out = UsageTap.whole(body, meter, strip);
            if (out.length != body.length) {
                exchange.setProperty(Exchanges.UPSTREAM_RESPONSE, new UpstreamResponse(up.status(), up.headers(), out,
                        null, up.firstByteAt()));
            }
            return;
        }
        meter.countBytes(body.length);
        if (body.length == 0 || body.length > 64 * 1024 * 1024) {
            return;
        }
        try {
            JsonNode root = JSON.readTree(body);
            if (root != null && root.isObject()) {
                TokenUsage u = TokenUsage.of(root.get("usage"));
                if (u == null && root.path("response").isObject()) {
                    u = TokenUsage.of(root.path("response").get("usage"));
                }
                meter.report(u);
            }
        } catch (IOException | RuntimeException e) {
            // not JSON (or not whole): no usage to read, the meter stays unknown
        }
    }
}
