package attest.http;

import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Before the aggregator: a request body is held in memory only within the data plane's {@link RequestBudget}.
 * A request reserves its declared Content-Length (at most the hard body limit) when its headers arrive, a chunked
 * one each chunk as it arrives; past the budget it is answered 503 before its body is aggregated, the connection
 * closed and the refusal reported. The reservation is given back when the answer's last part is written, or
 * when the connection closes. One instance per connection.
 */
public final class BudgetGuard extends ChannelDuplexHandler {
    private final RequestBudget budget;
    private final long hardMaxBody;
    private final Consumer<RefusedRequest> onRefusal;
    /** Reservations of the requests read and not yet answered, oldest first. */
    private final Deque<long[]> reserved = new ArrayDeque<>();
    private boolean chunked;
    private boolean refused;
    private HttpRequest current;

    public BudgetGuard(RequestBudget budget, long hardMaxBody, Consumer<RefusedRequest> onRefusal) {
        this.budget = budget;
        this.hardMaxBody = hardMaxBody;
        this.onRefusal = onRefusal;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
        if (refused) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (msg instanceof HttpRequest request) {
            current = request;
            Long declared = Refusals.declaredLength(request);
            chunked = declared == null;
            long need = declared == null ? 0 : Math.min(declared, hardMaxBody);
            if (!budget.tryReserve(need)) {
                refuse(ctx, msg, declared);
                return;
            }
            reserved.addLast(new long[] {need});
        } else if (msg instanceof HttpContent content && chunked && !reserved.isEmpty()) {
            long n = content.content().readableBytes();
            if (!budget.tryReserve(n)) {
                refuse(ctx, msg, null);
                return;
            }
            reserved.peekLast()[0] += n;
        }
        super.channelRead(ctx, msg);
    }

    private void refuse(ChannelHandlerContext ctx, Object msg, Long declared) {
        refused = true;
        ReferenceCountUtil.release(msg);
        String method = current == null ? null : current.method().name();
        String target = current == null ? null : RefusedRequest.boundTarget(current.uri());
        String rid = attest.ingress.RequestIds.mint(); // always the gateway's own (X-Request-Id is correlation only)
        String reason = "request buffer budget exhausted";
        Refusals.answerAndClose(ctx, 503, "overloaded", reason, rid, Map.of("Retry-After", "1"));
        Refusals.report(onRefusal, new RefusedRequest(503, "overloaded", reason, method, target, Refusals.source(ctx),
                rid, declared, null, null));
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) throws Exception {
        if (msg instanceof LastHttpContent && !reserved.isEmpty()) {
            budget.release(reserved.pollFirst()[0]);
        }
        super.write(ctx, msg, promise);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        long[] r;
        while ((r = reserved.pollFirst()) != null) {
            budget.release(r[0]);
        }
        super.channelInactive(ctx);
    }
}
