package attest.control;

import attest.http.ResponseHeaders;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;

/**
 * Sets the body to the control plane's OpenAPI document ({@code openapi/control-plane.json} on the class path, read
 * once at start: a missing one stops the start), as JSON.
 */
public class RenderOpenApiProcessor implements Processor {
    public static final String RESOURCE = "openapi/control-plane.json";
    private final byte[] document;

    public RenderOpenApiProcessor() {
        try (InputStream in = RenderOpenApiProcessor.class.getClassLoader().getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException("the OpenAPI document " + RESOURCE + " is missing from the class path");
            }
            this.document = in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void process(Exchange exchange) {
        exchange.getMessage().setHeader(Exchange.HTTP_RESPONSE_CODE, 200);
        ResponseHeaders.of(exchange).set(ResponseHeaders.CONTENT_TYPE, "application/json");
        ResponseHeaders.of(exchange).set("Cache-Control", "no-cache");
        exchange.getMessage().setBody(document);
    }
}
