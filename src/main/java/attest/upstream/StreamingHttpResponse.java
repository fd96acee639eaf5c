package attest.upstream;

import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import org.apache.camel.component.netty.http.OutboundStreamHttpResponse;

import java.io.ByteArrayInputStream;
import java.util.Map;

/**
 * The response head plus a non-blocking chunk source, handed to camel-netty-http as the message body.
 * camel-netty-http writes a body that is already an HTTP response as it is, and its chunked writer
 * writes the head of a {@link OutboundStreamHttpResponse} and then pulls the chunks. Pulling never blocks:
 * when no data is there, {@link #readChunk(ByteBufAllocator)} returns null and the relay wakes the
 * writer when data arrives.
 */
public final class StreamingHttpResponse extends OutboundStreamHttpResponse {
    private final StreamRelay relay;

    public StreamingHttpResponse(int status, Map<String, String> headers, StreamRelay relay) {
        super(new ByteArrayInputStream(new byte[0]),
                new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(status)));
        this.relay = relay;
        headers.forEach((k, v) -> headers().set(k, v));
        headers().set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
        headers().remove(HttpHeaderNames.CONTENT_LENGTH);
    }

    public StreamRelay relay() {
        return relay;
    }

    @Override
    public boolean isEndOfInput() {
        return relay.isEndOfInput();
    }

    @Override
    public void close() {
        relay.close();
    }

    @Override
    @Deprecated
    public HttpContent readChunk(ChannelHandlerContext ctx) {
        return relay.readChunk(ctx.alloc());
    }

    @Override
    public HttpContent readChunk(ByteBufAllocator allocator) {
        return relay.readChunk(allocator);
    }

    @Override
    public long length() {
        return -1;
    }

    @Override
    public long progress() {
        return 0;
    }
}
