package attest.bench;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.concurrent.ScheduledFuture;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A stand-in upstream that is slow on purpose and holds no thread while it is: an OpenAI-shaped chat answer
 * after {@code answerDelayMillis}, or (for a body with {@code "stream":true}) a head at once and then one
 * server-sent event every {@code eventEveryMillis} for {@code streamMillis}, all timed on Netty's event loops.
 * It serves bench/concurrency.sh (10,000 calls in flight at once) and the tests of the asynchronous upstream
 * call, and counts what it saw: requests, requests in flight, and requests whose caller went away first.
 */
public final class SlowUpstream implements AutoCloseable {
    private static final byte[] ANSWER = ("{\"id\":\"chatcmpl-slow\",\"object\":\"chat.completion\",\"created\":1,"
            + "\"model\":\"slow\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":"
            + "\"Thought about it for a while.\"},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":5,"
            + "\"completion_tokens\":7,\"total_tokens\":12}}").getBytes(StandardCharsets.UTF_8);
    private static final byte[] EVENT = ("data: {\"id\":\"chatcmpl-slow\",\"object\":\"chat.completion.chunk\","
            + "\"model\":\"slow\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"word \"}}]}\n\n")
            .getBytes(StandardCharsets.UTF_8);
    private static final byte[] DONE = "data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8);

    private final EventLoopGroup boss = new NioEventLoopGroup(1);
    private final EventLoopGroup workers;
    private final Channel server;
    private volatile long answerDelayMillis;
    private volatile long streamMillis;
    private volatile long eventEveryMillis;
    private final AtomicLong received = new AtomicLong();
    private final AtomicInteger inFlight = new AtomicInteger();
    private final AtomicInteger maxInFlight = new AtomicInteger();
    private final AtomicLong abandoned = new AtomicLong();

    public SlowUpstream(int port, int threads, long answerDelayMillis, long streamMillis, long eventEveryMillis)
            throws InterruptedException {
        this.answerDelayMillis = answerDelayMillis;
        this.streamMillis = streamMillis;
        this.eventEveryMillis = eventEveryMillis;
        this.workers = new NioEventLoopGroup(threads);
        this.server = new ServerBootstrap().group(boss, workers).channel(NioServerSocketChannel.class)
                .option(ChannelOption.SO_BACKLOG, 16384)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(new HttpServerCodec(), new HttpObjectAggregator(1 << 20), new Handler());
                    }
                }).bind("127.0.0.1", port).sync().channel();
    }

    public int port() {
        return ((InetSocketAddress) server.localAddress()).getPort();
    }

    public String baseUrl() {
        return "http://127.0.0.1:" + port();
    }

    public void answerDelay(long millis) {
        this.answerDelayMillis = millis;
    }

    public void stream(long forMillis, long eventEveryMillis) {
        this.streamMillis = forMillis;
        this.eventEveryMillis = eventEveryMillis;
    }

    public long received() {
        return received.get();
    }

    public int inFlight() {
        return inFlight.get();
    }

    public int maxInFlight() {
        return maxInFlight.get();
    }

    /** Requests whose caller closed the connection before the answer was complete. */
    public long abandoned() {
        return abandoned.get();
    }

    @Override
    public void close() {
        server.close().syncUninterruptibly();
        boss.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        workers.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }

    private final class Handler extends SimpleChannelInboundHandler<FullHttpRequest> {
        private boolean open;
        private ScheduledFuture<?> pending;

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
            received.incrementAndGet();
            maxInFlight.accumulateAndGet(inFlight.incrementAndGet(), Math::max);
            open = true;
            boolean keepAlive = HttpUtil.isKeepAlive(req);
            String body = req.content().toString(StandardCharsets.UTF_8).replace(" ", "");
            // model "probe": answered at once (a stream of one event), to time a new call among the slow ones;
            // model "warm": a stream of ten events 20 ms apart (a warm-up's streams, to run the per-event path)
            boolean probe = body.contains("\"model\":\"probe\"");
            boolean warm = body.contains("\"model\":\"warm\"");
            if (body.contains("\"stream\":true")) {
                HttpResponse head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
                head.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/event-stream")
                        .set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
                ctx.writeAndFlush(head);
                long end = System.nanoTime() + (probe ? 0 : TimeUnit.MILLISECONDS.toNanos(warm ? 190 : streamMillis));
                event(ctx, end, keepAlive, warm ? 20 : eventEveryMillis);
                return;
            }
            pending = ctx.executor().schedule(() -> {
                FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK,
                        Unpooled.wrappedBuffer(ANSWER));
                r.headers().set(HttpHeaderNames.CONTENT_TYPE, "application/json")
                        .setInt(HttpHeaderNames.CONTENT_LENGTH, ANSWER.length);
                finish(ctx, r, keepAlive);
            }, probe || warm ? 0 : answerDelayMillis, TimeUnit.MILLISECONDS);
        }

        private void event(ChannelHandlerContext ctx, long end, boolean keepAlive, long every) {
            if (!ctx.channel().isActive()) {
                return;
            }
            if (System.nanoTime() >= end) {
                ctx.write(new DefaultHttpContent(Unpooled.wrappedBuffer(EVENT)));
                ctx.write(new DefaultHttpContent(Unpooled.wrappedBuffer(DONE)));
                finish(ctx, LastHttpContent.EMPTY_LAST_CONTENT, keepAlive);
                return;
            }
            ctx.writeAndFlush(new DefaultHttpContent(Unpooled.wrappedBuffer(EVENT)));
            pending = ctx.executor().schedule(() -> event(ctx, end, keepAlive, every), every,
                    TimeUnit.MILLISECONDS);
        }

        private void finish(ChannelHandlerContext ctx, Object last, boolean keepAlive) {
            open = false;
            inFlight.decrementAndGet();
            var written = ctx.writeAndFlush(last);
            if (!keepAlive) {
                written.addListener(ChannelFutureListener.CLOSE);
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) throws Exception {
            if (open) {
                open = false;
                inFlight.decrementAndGet();
                abandoned.incrementAndGet();
                if (pending != null) {
                    pending.cancel(false);
                }
            }
            super.channelInactive(ctx);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }

    /**
     * Runs it on its own: {@code -Dport=0 -Dthreads=2 -Danswer-ms=10000 -Dstream-ms=25000 -Devent-ms=500};
     * prints {@code port=<port>} and runs until standard input closes.
     */
    public static void main(String[] args) throws Exception {
        try (SlowUpstream up = new SlowUpstream(Integer.getInteger("port", 0), Integer.getInteger("threads", 2),
                Long.getLong("answer-ms", 10_000), Long.getLong("stream-ms", 25_000), Long.getLong("event-ms", 500))) {
            System.out.println("port=" + up.port());
            System.out.flush();
            // what it saw, every 5 s while it changes: a run's calls that never reached it tell themselves apart
            // from calls it did not answer
            java.util.concurrent.ScheduledExecutorService stats = java.util.concurrent.Executors
                    .newSingleThreadScheduledExecutor(r -> {
                        Thread t = new Thread(r, "stats");
                        t.setDaemon(true);
                        return t;
                    });
            long[] last = {-1, -1, -1};
            stats.scheduleAtFixedRate(() -> {
                long[] now = {up.received(), up.inFlight(), up.abandoned()};
                if (!java.util.Arrays.equals(now, last)) {
                    System.arraycopy(now, 0, last, 0, 3);
                    System.out.printf("%s received=%d in_flight=%d max_in_flight=%d abandoned=%d%n",
                            java.time.Instant.now(), now[0], now[1], up.maxInFlight(), now[2]);
                    System.out.flush();
                }
            }, 5, 5, TimeUnit.SECONDS);
            while (System.in.read() >= 0) {
                // until stdin closes
            }
        }
    }
}
