package attest.usage;

import attest.Exchanges;
import attest.http.MediaTypes;
import attest.upstream.StreamRelay;
import attest.upstream.UpstreamResponse;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;

import java.io.IOException;

/**
 * Reads the answer's token usage into {@code attestUsage}, after masking: from a JSON answer's {@code usage}
 * (Chat Completions, Completions, Responses API); from an event stream as it passes (a tap installed after the
 * masking transform, so it sees every event the caller would); from an event stream buffered whole (a held call
 * executed later); from NDJSON the same ways, line by line, where Ollama's last line counts the tokens
 * ({@code prompt_eval_count}, {@code eval_count}). Where the gateway asked for the usage chunk ({@code attestStripUsage}), the tap removes it from
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
            // the relay's format is the answer's label, as the transport and the masker read it
            UsageTap tap = MediaTypes.ndjson(up.header("Content-Type")) ? UsageTap.ndjson(meter, strip)
                    : new UsageTap(meter, strip);
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
                    // what the masker still releases at a break-off goes to the caller: the tap sees it too, and lets
                    // it all through (an NDJSON line whose line end never came included)
                    return tap.abandon(inner == null ? new byte[0] : inner.abandon());
                }
            });
            return;
        }
        byte[] body = up.body() == null ? new byte[0] : up.body();
        String type = up.header("Content-Type");
        if (MediaTypes.live(type)) {
            byte[] out = MediaTypes.ndjson(type) ? UsageTap.wholeNdjson(body, meter, strip)
                    : UsageTap.whole(body, meter, strip);
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
            // usage, response.usage, or Ollama's counts (stream: false), without a tree of the whole answer
            meter.report(TokenUsage.read(JSON, body));
        } catch (IOException | RuntimeException e) {
            // not JSON (or not whole): no usage to read, the meter stays unknown
        }
    }
}
