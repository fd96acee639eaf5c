package attest.upstream;

import attest.http.GatewayException;
import attest.evidence.Outcome;
import attest.ingress.Upstream;
import attest.ingress.UpstreamTarget;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.nio.NioEventLoop;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpHeadersFactory;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.JdkSslContext;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.NetUtil;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.DefaultThreadFactory;

import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.Flow;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * The Netty transport ({@code attest.upstream.client=netty}): HTTP/1.1 on the event loop of the caller's own
 * connection where the caller passes it (the data plane does), else on one small event loop group of the client's
 * own (a held call executed after approval has no caller connection), so a call costs no thread hand-off inside the
 * client and no thread while it waits, and a stream's events go from the upstream's socket to the caller's on one
 * thread.
 * <p>
 * Connections are kept alive and pooled per origin (scheme, host, port); at most {@link #MAX_IDLE_PER_ORIGIN}
 * idle ones are kept per origin, each for at most the owner's idle keep, and never longer than a second less than
 * the upstream said it keeps one ({@code Keep-Alive: timeout=N}): a connection is closed by this side before its
 * upstream closes it, so a call is never sent on a connection its upstream is closing at that moment (a 502 for
 * nothing; uvicorn and Node.js close idle connections after 5 s). A connection goes back to the pool only
 * when its exchange ended cleanly (request written, answer read whole, keep-alive on both sides); one that
 * errs, times out or is cancelled is closed, except an idle one taken for a call that ended before the connection
 * reached it (nothing was written on it: it goes back). A call's response deadline is kept on its caller's loop until
 * it has a connection, then on the connection's; a loop that stops hands it to a loop of the client's own, so a call
 * always ends.
 * <p>
 * Each upstream has at most its {@code max-connections} open at once, idle ones included (a permit a connection,
 * given back when it closes); a call past them waits, holding no thread, in a first-come queue of at most
 * {@code max-waiting} calls, and takes the next connection that comes free (handed over before it would go idle) or
 * the permit of the next one that closes. Still waiting at its deadline it fails with 504; finding the queue full,
 * with 503 {@code upstream_busy} at once. Nothing of either is sent. TLS uses the JDK's default context (its default trust store), SNI
 * and hostname verification. Bounds: a response head of at most {@link #MAX_HEAD_BYTES} (as the JDK client's
 * {@code jdk.http.maxHeaderSize}), a status line of at most {@link #MAX_STATUS_LINE_BYTES}, a buffered answer
 * of at most the owner's {@code maxBodyBytes} as received; past them the call fails with 502. A stream (event
 * stream or NDJSON) is read only as fast as its relay asks for it (the channel's auto-read follows the demand), so a
 * slow caller slows the upstream down instead of filling memory.
 */
final class NettyTransport implements UpstreamClient.Transport {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(NettyTransport.class);
    static final int MAX_HEAD_BYTES = 393_216;
    static final int MAX_STATUS_LINE_BYTES = 16_384;
    static final int MAX_CHUNK_BYTES = 16_384;
    static final int MAX_IDLE_PER_ORIGIN = 64;
    /** Request headers that the transport sets itself (or that must never be forwarded). */
    private static final Set<String> OWN_HEADERS = Set.of("host", "content-length", "transfer-encoding", "connection",
            "keep-alive", "upgrade", "expect", "te", "trailer", "proxy-connection", "accept-encoding");

    private final UpstreamClient owner;
    private final SSLContext tlsContext;
    private volatile SslContext tls;
    private volatile EventLoopGroup group;
    /** The threads that resolve upstream host names (the JDK's lookup blocks); started only when one is needed. */
    private final java.util.concurrent.ThreadPoolExecutor dns = new java.util.concurrent.ThreadPoolExecutor(4, 4, 30,
            TimeUnit.SECONDS, new java.util.concurrent.LinkedBlockingQueue<>(),
            new DefaultThreadFactory("attest-upstream-dns", true));
    private volatile boolean closed;
    private final Map<String, Deque<Channel>> idle = new ConcurrentHashMap<>();
    private final Map<String, AtomicInteger> idleCounts = new ConcurrentHashMap<>();
    /** Each pool's cap of open connections and its queue of waiting calls, by the same key. */
    private final Map<String, Limit> limits = new ConcurrentHashMap<>();
    /**
     * Tests only (null otherwise): given the call's answer on the thread that opened a new connection, right after the
     * connect was started and before that thread looks at the call again.
     */
    volatile Consumer<CompletableFuture<UpstreamResponse>> afterConnect;
    /** Tests only (null otherwise): run just before a new connection to a resolved address is opened. */
    volatile Runnable beforeOpen;

    NettyTransport(UpstreamClient owner, SSLContext tlsContext) {
        this.owner = owner;
        this.tlsContext = tlsContext;
        dns.allowCoreThreadTimeOut(true);
    }

    private EventLoopGroup group() {
        EventLoopGroup g = group;
        if (g == null) {
            synchronized (this) {
                g = group;
                if (g == null) {
                    int threads = Math.max(1, Math.min(4, Runtime.getRuntime().availableProcessors()));
                    g = new NioEventLoopGroup(threads, new DefaultThreadFactory("attest-upstream-io", true));
                    group = g;
                }
            }
        }
        return g;
    }

    private SslContext tls() throws NoSuchAlgorithmException {
        SslContext t = tls;
        if (t == null) {
            synchronized (this) {
                t = tls;
                if (t == null) {
                    t = new JdkSslContext(tlsContext == null ? SSLContext.getDefault() : tlsContext, true,
                            ClientAuth.NONE);
                    tls = t;
                }
            }
        }
        return t;
    }

    @Override
    public void close() {
        closed = true;
        dns.shutdownNow();
        // idle connections on callers' loops (which this client does not stop) are closed with it
        for (Map.Entry<String, Deque<Channel>> e : idle.entrySet()) {
            Channel ch;
            while ((ch = e.getValue().pollFirst()) != null) {
                idleCounts.get(e.getKey()).decrementAndGet();
                ch.close();
            }
        }
        for (Limit lim : limits.values()) { // calls waiting for a connection end now
            List<Call> waiting = new ArrayList<>();
            synchronized (lim) {
                Call c;
                while ((c = lim.nextWaiting()) != null) {
                    waiting.add(c);
                }
            }
            for (Call c : waiting) {
                c.cancelDeadline();
                c.answer.completeExceptionally(GatewayException.upstreamError("the upstream client is closed"));
            }
        }
        EventLoopGroup g = group;
        if (g != null) {
            g.shutdownGracefully(0, 2, TimeUnit.SECONDS);
        }
    }

    @Override
    public CompletableFuture<UpstreamResponse> call(UpstreamTarget target, String method, ForwardHeaders headers,
                                                    byte[] body, boolean buffered, EventLoop near) {
        if (closed) {
            return CompletableFuture.failedFuture(GatewayException.upstreamError("the upstream client is closed"));
        }
        Call call;
        try {
            call = new Call(target, request(target.uri(), method, headers, body), buffered);
            call.limit = limits.computeIfAbsent(call.pool,
                    k -> new Limit(target.upstream().maxConnections(), target.upstream().maxWaiting()));
        } catch (RuntimeException e) {
            // an unusable URI or a header the codec refuses: nothing was sent
            return CompletableFuture.failedFuture(GatewayException.upstreamError("the upstream call failed"));
        }
        Upstream upstream = target.upstream();
        // one event loop per call, for its deadline and, when it needs a new connection, for that connection: taking
        // one for each from the group's round robin gave every new connection the same loop of two (each call took
        // two turns), and that loop carried every stream while the other only kept time
        // the caller's own loop when it can carry a NIO channel (the data plane's: Camel's server workers): then a
        // stream's events go from the upstream's socket to the caller's on one thread, with no task handed over
        call.affine = near instanceof NioEventLoop && !near.isShuttingDown();
        call.loop = call.affine ? near : group().next();
        // the response timeout bounds the whole buffered answer (a stream's head); past it the exchange is aborted
        call.late = () -> {
            call.leaveQueue(); // first: once the call has failed, its place in the queue is free
            if (call.answer.completeExceptionally(GatewayException.upstreamTimeout("the upstream did not answer in time"))) {
                if (LOG.isDebugEnabled()) { // how far the exchange got: the origin and its stages, never its data
                    Channel ch = call.channel;
                    LOG.debug("upstream {} did not answer in time: connection {}, request {}, head {}, bytes {}",
                            call.origin, ch == null ? (call.connecting == null ? "none" : "connecting")
                                    : ch.isActive() ? "open" : "closed",
                            call.requestWritten ? "written" : "not written", call.status == 0 ? "none" : call.status,
                            call.bodySize);
                }
                call.abort();
            }
        };
        call.deadlineAt = System.nanoTime() + upstream.responseTimeout().toNanos();
        if (!call.armDeadline(call.loop)) { // the caller's loop stopped meanwhile
            call.affine = false;
            call.loop = group().next();
            call.armDeadline(call.loop);
        }
        acquire(call, false);
        return call.answer;
    }

    private static FullHttpRequest request(URI uri, String method, ForwardHeaders headers, byte[] body) {
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("http") && !scheme.equals("https") || uri.getHost() == null) {
            throw new IllegalArgumentException("not an http(s) URI");
        }
        String path = uri.getRawPath() == null || uri.getRawPath().isEmpty() ? "/" : uri.getRawPath();
        String target = uri.getRawQuery() == null ? path : path + "?" + uri.getRawQuery();
        ByteBuf content = body == null || body.length == 0 ? Unpooled.EMPTY_BUFFER : Unpooled.wrappedBuffer(body);
        FullHttpRequest r = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.valueOf(method), target,
                content);
        for (Map.Entry<String, String> h : headers.entries()) {
            if (!OWN_HEADERS.contains(h.getKey().toLowerCase(Locale.ROOT))) {
                r.headers().add(h.getKey(), h.getValue());
            }
        }
        int port = uri.getPort();
        boolean defaultPort = port == -1 || port == (scheme.equals("https") ? 443 : 80);
        r.headers().set(HttpHeaderNames.HOST, defaultPort ? uri.getHost() : uri.getHost() + ":" + port);
        // the answer must be readable to be masked: ask for it unencoded (an upstream that encodes anyway is
        // decoded by the owner)
        r.headers().set(HttpHeaderNames.ACCEPT_ENCODING, HttpHeaderValues.IDENTITY);
        if (content.isReadable() || !(method.equals("GET") || method.equals("HEAD") || method.equals("DELETE")
                || method.equals("OPTIONS") || method.equals("TRACE"))) {
            r.headers().set(HttpHeaderNames.CONTENT_LENGTH, content.readableBytes());
        }
        return r;
    }

    // ---- the pool -------------------------------------------------------------------------------------

    /**
     * An idle connection for the call, else a new one while the upstream has fewer than its
     * {@code max-connections} open, else a place in its queue (FIFO, no thread held; the call's deadline still runs),
     * else 503 at once. {@code again}: a call already let in whose connection went away on the way to it, queued first
     * whatever the queue holds. Any thread.
     */
    private void acquire(Call call, boolean again) {
        Limit lim = call.limit;
        while (true) {
            Channel ch;
            boolean connect = false;
            boolean busy = false;
            synchronized (lim) {
                ch = takeIdle(call);
                if (ch == null) {
                    if (call.answer.isDone()) {
                        return; // ended meanwhile (timed out, cancelled): nothing to wait for
                    } else if (lim.open < lim.max) {
                        lim.open++; // the new connection's permit
                        connect = true;
                    } else if (again) {
                        lim.waiting.addFirst(call);
                        call.waiting = true;
                    } else if (lim.waiting.size() < lim.maxWaiting || lim.dropEnded() < lim.maxWaiting) {
                        lim.waiting.addLast(call);
                        call.waiting = true;
                    } else {
                        busy = true;
                    }
                }
            }
            if (ch != null) {
                if (handOver(ch, call, true)) {
                    return;
                }
                continue; // gone meanwhile: the next one
            }
            if (connect) {
                connect(call, new Permit(lim));
            } else if (busy) {
                call.cancelDeadline();
                call.answer.completeExceptionally(GatewayException.upstreamBusy(
                        "the upstream's connections are all in use and its queue is full; retry later"));
            } else if (call.answer.isDone()) {
                call.leaveQueue(); // its deadline fired before it was queued, and found nothing to take it from
            }
            return;
        }
    }

    /** An idle connection of the call's pool, taken out of it (the caller's loop's first); null if none. Under the limit's lock. */
    private Channel takeIdle(Call call) {
        Deque<Channel> q = idle.get(call.pool);
        if (q == null) {
            return null;
        }
        Channel ch = call.affine ? takeOnLoop(q, call.loop) : null;
        return ch != null ? ch : q.pollFirst();
    }

    /**
     * A connection for the call: just taken out of the pool ({@code fromPool}), or freed by another call, to the call
     * if it is still usable (on its loop); false if not (it is closed or closing: its permit comes back then).
     */
    private boolean handOver(Channel ch, Call call, boolean fromPool) {
        if (fromPool) {
            idleCounts.get(call.pool).decrementAndGet();
        }
        Connection conn = ch.pipeline().get(Connection.class);
        if (ch.eventLoop().isShuttingDown()) { // a stopping caller's loop would close it under the call
            ch.close();
            return false;
        }
        if (ch.isActive() && conn != null) {
            try {
                if (call.affine && ch.eventLoop() != call.loop) {
                    // none idle on the caller's loop: this one moves there, so that a stream's events still go from
                    // socket to socket on one thread, rather than each waking the caller's loop from this one
                    ch.eventLoop().execute(() -> conn.move(ch, call));
                } else {
                    ch.eventLoop().execute(() -> conn.reuse(ch, call));
                }
            } catch (java.util.concurrent.RejectedExecutionException stopped) {
                ch.close();
                return false;
            }
            return true;
        }
        return false;
    }

    /** An idle connection on this loop, taken out of the pool; null when there is none (at most the pool's size read). */
    private static Channel takeOnLoop(Deque<Channel> q, EventLoop loop) {
        for (Channel ch : q) {
            if (ch.eventLoop() == loop && q.remove(ch)) {
                return ch;
            }
        }
        return null;
    }

    /** A new connection for the call, which holds a permit of its upstream's for it. Any thread. */
    private void connect(Call call, Permit permit) {
        if (call.answer.isDone()) {
            permit.release();
            return;
        }
        Upstream upstream = call.target.upstream();
        URI uri = call.target.uri();
        boolean https = uri.getScheme().equalsIgnoreCase("https");
        SslContext ssl;
        try {
            ssl = https ? tls() : null;
        } catch (NoSuchAlgorithmException e) {
            permit.release();
            call.fail(GatewayException.upstreamError("the upstream could not be reached"));
            return;
        }
        String host = uri.getHost();
        String sniHost = host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
        int port = uri.getPort() != -1 ? uri.getPort() : https ? 443 : 80;
        // the connect's time limit is ConnectDeadline's, judged by the kernel: Netty's own is off (0)
        long connectLimitMs = upstream.connectTimeout().toMillis();
        if (call.loop.isShuttingDown()) { // the caller's loop stopped (or is stopping): it would refuse the connection
            call.affine = false;
            call.loop = group().next();
        }
        Bootstrap b = new Bootstrap().group(call.loop).channelFactory(ConnectDeadline.Socket::new)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 0)
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.SO_KEEPALIVE, true)
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast("connect-deadline", new ConnectDeadline(connectLimitMs));
                        if (ssl != null) {
                            SslHandler h = ssl.newHandler(ch.alloc(), sniHost, port); // SNI with the host name
                            SSLEngine engine = h.engine();
                            SSLParameters p = engine.getSSLParameters();
                            p.setEndpointIdentificationAlgorithm("HTTPS"); // hostname verification
                            if (!NetUtil.isValidIpV4Address(sniHost) && !NetUtil.isValidIpV6Address(sniHost)) {
                                p.setServerNames(List.of(new SNIHostName(sniHost))); // also for a dotless name
                            }
                            engine.setSSLParameters(p);
                            ch.pipeline().addLast("tls", h);
                        }
                        ch.pipeline().addLast("http", new HttpClientCodec(new HttpDecoderConfig()
                                .setMaxInitialLineLength(MAX_STATUS_LINE_BYTES).setMaxHeaderSize(MAX_HEAD_BYTES)
                                .setMaxChunkSize(MAX_CHUNK_BYTES).setHeadersFactory(FramingHeaders.FACTORY),
                                false, true));
                        ch.pipeline().addLast("exchange", new Connection(call.pool, permit));
                    }
                });
        long started = System.nanoTime();
        if (NetUtil.isValidIpV4Address(sniHost) || NetUtil.isValidIpV6Address(sniHost)) {
            open(call, b, new InetSocketAddress(NetUtil.createInetAddressFromIpAddressString(sniHost), port), started,
                    permit);
            return;
        }
        // a name is resolved on threads of the client's own (the JDK's resolver blocks; it caches an answer for 30 s),
        // never on an event loop, which may be the data plane's, carrying other callers' streams
        CompletableFuture.supplyAsync(() -> {
            try {
                return InetAddress.getByName(sniHost);
            } catch (UnknownHostException e) {
                throw new CompletionException(e);
            }
        }, dns).whenComplete((address, err) -> {
            if (err != null) {
                permit.release();
                call.fail(UpstreamClient.failure(err instanceof CompletionException && err.getCause() != null
                        ? err.getCause() : err));
                return;
            }
            open(call, b, new InetSocketAddress(address, port), started, permit);
        });
    }

    /** Connects to a resolved address and starts the call on the new connection. */
    private void open(Call call, Bootstrap bootstrap, InetSocketAddress address, long started, Permit permit) {
        Bootstrap b = bootstrap;
        Runnable hook = beforeOpen;
        if (hook != null) {
            hook.run();
        }
        if (call.answer.isDone()) { // cancelled or timed out while the name was resolved
            permit.release();
            return;
        }
        if (call.loop.isShuttingDown()) { // the caller's loop stopped while the name was resolved
            call.affine = false;
            call.loop = group().next();
            b = b.clone(call.loop);
        }
        ChannelFuture connecting;
        try {
            connecting = b.connect(address);
        } catch (RuntimeException e) { // the call's loop stopped under it (resolved meanwhile)
            permit.release();
            call.fail(GatewayException.upstreamError("the upstream could not be reached"));
            return;
        }
        // the permit comes back when the connection closes, whatever closes it (or when it was never made)
        connecting.channel().closeFuture().addListener(f -> permit.release());
        if (connecting.isDone() && !connecting.isSuccess()) {
            // refused at once (a loop that stopped meanwhile): the listeners may never be told, on that loop
            permit.release();
            call.fail(UpstreamClient.failure(connecting.cause()));
            return;
        }
        call.connecting = connecting;
        connecting.addListener((ChannelFuture f) -> {
            if (!f.isSuccess()) {
                permit.release();
                if (LOG.isDebugEnabled()) { // the origin (scheme, host, port) and the failure's kind, never a message
                    LOG.debug("upstream connect to {} failed after {} ms: {}", call.origin,
                            TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started),
                            f.cause() == null ? "cancelled" : f.cause().getClass().getSimpleName());
                }
                call.fail(UpstreamClient.failure(f.cause()));
                return;
            }
            Channel ch = f.channel();
            ch.pipeline().get(Connection.class).start(ch, call);
        });
        Consumer<CompletableFuture<UpstreamResponse>> seen = afterConnect;
        if (seen != null) {
            seen.accept(call.answer);
        }
        // the connect completes on the event loop, and a near upstream's answer (a stream's head) may have completed the
        // call before this thread gets here: only a call that ended without starting on this connection (cancelled or
        // timed out before abort() could see it connecting) has it closed here. A call that started closes its own
        // connection when it ends; closing it here cut a live stream just after its head (ReplicasE2EIT once)
        if (call.answer.isDone() && call.channel == null) {
            connecting.cancel(false);
            connecting.channel().close();
        }
    }

    /**
     * Back to the pool after a clean exchange, or closed. On the channel's event loop.
     *
     * @param upstreamKeepMs how long the upstream said it keeps the connection idle ({@code Keep-Alive: timeout}),
     *                       or -1 when it did not say
     */
    private void release(Channel ch, Connection conn, boolean reusable, long upstreamKeepMs) {
        conn.call = null;
        long keepMs = upstreamKeepMs < 0 ? owner.idleKeepMs() : Math.min(owner.idleKeepMs(), upstreamKeepMs - 1000);
        if (!reusable) {
            ch.close();
            return;
        }
        pool(ch, conn, keepMs);
    }

    /**
     * An idle connection taken from the pool for a call that ended before it could start on it (timed out or
     * cancelled while the connection was on its way): nothing was written on it, so it goes back for what is left of
     * its keep. It was closed (a healthy connection lost, and a new one made by the next call). On its event loop.
     */
    private void putBack(Channel ch, Connection conn) {
        conn.call = null;
        pool(ch, conn, TimeUnit.NANOSECONDS.toMillis(conn.idleUntil - System.nanoTime()));
    }

    /** Into the pool for at most {@code keepMs}, or closed. On the channel's event loop. */
    private void pool(Channel ch, Connection conn, long keepMs) {
        if (keepMs <= 0 || closed || !ch.isActive() || ch.eventLoop().isShuttingDown()) {
            ch.close();
            return;
        }
        conn.idleUntil = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(keepMs);
        Limit lim = conn.permit.limit;
        Call next;
        boolean pooled = false;
        synchronized (lim) { // a call waits only while there is no idle connection: it is served first
            next = lim.nextWaiting();
            if (next == null) {
                AtomicInteger count = idleCounts.computeIfAbsent(conn.pool, o -> new AtomicInteger());
                if (count.incrementAndGet() > MAX_IDLE_PER_ORIGIN) {
                    count.decrementAndGet();
                } else {
                    // into the pool under the lock; taken from it by another thread only through a task on this loop,
                    // which runs after this one has set the idle close
                    idle.computeIfAbsent(conn.pool, o -> new ConcurrentLinkedDeque<>()).offerFirst(ch);
                    pooled = true;
                }
            }
        }
        if (next != null) {
            if (!handOver(ch, next, false)) {
                acquire(next, true);
            }
            return;
        }
        if (!pooled) {
            ch.close();
            return;
        }
        ch.config().setAutoRead(true); // an idle connection notices its upstream closing it
        conn.idleClose = ch.eventLoop().schedule(() -> {
            if (conn.call == null) {
                ch.close();
            }
        }, keepMs, TimeUnit.MILLISECONDS);
    }

    /**
     * A permit of an upstream's: one connection open (or opening). Given back once, when the connection closes (or
     * was never made); the first call waiting then takes it over for a new connection.
     */
    private final class Permit {
        final Limit limit;
        private final java.util.concurrent.atomic.AtomicBoolean back = new java.util.concurrent.atomic.AtomicBoolean();

        Permit(Limit limit) {
            this.limit = limit;
        }

        void release() {
            if (!back.compareAndSet(false, true)) {
                return;
            }
            Call next;
            synchronized (limit) {
                next = limit.nextWaiting();
                if (next == null) {
                    limit.open--;
                }
            }
            if (next != null) {
                connect(next, new Permit(limit)); // the permit goes over to it
            }
        }
    }

    /** An upstream's cap of open connections ({@code max-connections}) and its queue of waiting calls. */
    private static final class Limit {
        final int max;
        final int maxWaiting;
        /** Connections open or opening (permits out); guarded by this. */
        int open;
        /** Calls waiting for a connection, first come first served; guarded by this. */
        final ArrayDeque<Call> waiting = new ArrayDeque<>();

        Limit(int max, int maxWaiting) {
            this.max = max;
            this.maxWaiting = maxWaiting;
        }

        /**
         * Drops the calls that ended while they waited and are still on their way out (a deadline's thread leaves the
         * queue just after it failed the call: a next call in that moment was refused as if it were full); the
         * queue's size. Under this lock.
         */
        int dropEnded() {
            waiting.removeIf(c -> {
                if (c.answer.isDone()) {
                    c.waiting = false;
                    return true;
                }
                return false;
            });
            return waiting.size();
        }

        /** The first waiting call still waiting, out of the queue; null if none. Under this lock. */
        Call nextWaiting() {
            Call c;
            while ((c = waiting.pollFirst()) != null) {
                c.waiting = false;
                if (!c.answer.isDone()) {
                    return c;
                }
            }
            return null;
        }
    }

    /**
     * The {@code timeout} of a {@code Keep-Alive} response header (RFC 2068 19.7.1.1, as servers still send it), in
     * milliseconds; -1 when there is none or it is not a number of seconds.
     */
    static long keepAliveTimeoutMs(String header) {
        if (header == null) {
            return -1;
        }
        for (String part : header.split(",")) {
            String p = part.trim();
            int eq = p.indexOf('=');
            if (eq > 0 && p.substring(0, eq).trim().equalsIgnoreCase("timeout")) {
                String v = p.substring(eq + 1).trim();
                if (v.length() >= 2 && v.startsWith("\"") && v.endsWith("\"")) {
                    v = v.substring(1, v.length() - 1);
                }
                if (v.isEmpty() || v.length() > 9 || !v.chars().allMatch(ch -> ch >= '0' && ch <= '9')) {
                    return -1;
                }
                return Long.parseLong(v) * 1000;
            }
        }
        return -1;
    }

    private void forget(Channel ch, String pool) {
        Deque<Channel> q = idle.get(pool);
        if (q != null && q.remove(ch)) {
            idleCounts.get(pool).decrementAndGet();
        }
    }

    /** The per-connection handler: hands what the codec reads to the call in progress, if any. */
    private final class Connection extends ChannelInboundHandlerAdapter {
        /** The pool's key: the upstream's name and origin. */
        final String pool;
        /** Its upstream's permit, given back when it closes. */
        final Permit permit;
        Call call;
        ScheduledFuture<?> idleClose;
        /** Until when an idle connection may be kept ({@link System#nanoTime()}'s scale). */
        long idleUntil;

        Connection(String pool, Permit permit) {
            this.pool = pool;
            this.permit = permit;
        }

        /** A new connection's first call. On the event loop. */
        void start(Channel ch, Call c) {
            ch.closeFuture().addListener(f -> forget(ch, pool));
            begin(ch, c, false);
        }

        /** An idle connection taken from the pool. On the event loop. */
        void reuse(Channel ch, Call c) {
            ScheduledFuture<?> w = idleClose;
            if (w != null) {
                w.cancel(false);
            }
            if (!ch.isActive() || call != null) {
                acquire(c, true); // it went away between the pool and here
                return;
            }
            if (c.answer.isDone()) { // the call timed out (or was cancelled) on the way here: the connection is unused
                putBack(ch, this);
                return;
            }
            if (ch instanceof ConnectDeadline.Socket s && !s.quietAndOpen()) {
                // the upstream closed it (or spoke unasked) and the loop has not read that yet: the request would be
                // written into a closing socket, and fail after reaching nobody. It goes on a new connection: the
                // only retry there is, for a request provably never sent (a written one is never sent twice)
                ch.close();
                acquire(c, true);
                return;
            }
            begin(ch, c, true);
        }

        /**
         * An idle connection taken from the pool for a call on another loop: deregistered from its own and registered
         * on the call's (Netty moves a channel so), then reused there. If either step fails the connection is closed
         * and the call makes a new one. On the connection's (old) event loop.
         */
        void move(Channel ch, Call c) {
            ScheduledFuture<?> w = idleClose;
            if (w != null) {
                w.cancel(false);
            }
            if (!ch.isActive() || call != null) {
                acquire(c, true);
                return;
            }
            if (c.answer.isDone()) { // timed out or cancelled on the way: the connection stays here, unused
                putBack(ch, this);
                return;
            }
            if (c.loop.isShuttingDown()) { // the caller's loop is stopping: the call goes on here, as it came
                reuse(ch, c);
                return;
            }
            ch.deregister().addListener(d -> {
                if (!d.isSuccess() || !ch.isOpen()) {
                    ch.close();
                    acquire(c, true);
                    return;
                }
                ChannelFuture registered = c.loop.register(ch);
                if (registered.isDone() && !registered.isSuccess()) {
                    // the call's loop stopped meanwhile and refused the channel (Netty closed it): that loop cannot
                    // report it, and the call's deadline was on it, so the call is failed here, never left waiting
                    permit.release(); // its close cannot be told on the stopped loop
                    c.fail(GatewayException.upstreamError("the caller's event loop stopped"));
                    return;
                }
                registered.addListener(r -> {
                    if (r.isSuccess()) {
                        reuse(ch, c); // now on the call's loop
                    } else {
                        ch.unsafe().closeForcibly();
                        permit.release(); // closed without its close being told
                        acquire(c, true);
                    }
                });
            });
        }

        /** @param pooled the connection was idle in the pool (else it is new, and its first call is this one) */
        private void begin(Channel ch, Call c, boolean pooled) {
            call = c;
            c.connection = this; // before the channel (volatile): whoever sees the channel sees its connection
            c.channel = ch;
            // the deadline on the loop of the exchange from now on: the caller's loop may stop, this one closes the
            // connection (and so ends the call) when it stops
            c.armDeadline(ch.eventLoop());
            if (c.answer.isDone()) { // cancelled or timed out before it started: never half-used
                call = null; // an abort() that saw the channel leaves it be now (closeIfServing)
                if (pooled && ch.isActive()) {
                    putBack(ch, this); // written on by no one: as healthy as it was in the pool
                } else {
                    ch.close();
                }
                return;
            }
            ch.writeAndFlush(c.request).addListener(w -> {
                if (w.isSuccess()) {
                    c.requestWritten = true;
                } else {
                    c.fail(UpstreamClient.failure(w.cause()));
                }
            });
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            Call c = call;
            try {
                if (c == null) {
                    ctx.close(); // nothing was asked: an idle connection that speaks is not trusted again
                    return;
                }
                c.read(msg);
            } finally {
                ReferenceCountUtil.release(msg);
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            Call c = call;
            if (c != null) {
                c.closed();
            }
            ctx.fireChannelInactive();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            Call c = call;
            if (c != null) {
                c.fail(UpstreamClient.failure(cause instanceof IOException ? cause : new IOException("broken")));
            }
            ctx.close();
        }
    }

    /** One exchange: its answer, its deadline and, for a stream (event stream or NDJSON), the relay's subscription. */
    private final class Call implements Flow.Subscription {
        final UpstreamTarget target;
        final FullHttpRequest request;
        final boolean buffered;
        final String origin;
        /** Its pool's (and limit's) key: the upstream's name and the origin. */
        final String pool;
        /** Its upstream's cap of connections and queue. */
        Limit limit;
        /** In its limit's queue; guarded by the limit. */
        boolean waiting;
        final CompletableFuture<UpstreamResponse> answer = new CompletableFuture<>() {
            @Override
            public boolean cancel(boolean mayInterruptIfRunning) {
                boolean cancelled = super.cancel(mayInterruptIfRunning); // first: the outcome is the cancellation
                if (cancelled) {
                    abort(); // aborts the upstream exchange and closes its connection
                }
                // else it is over: its connection may already serve another call, and a live stream is stopped
                // through its relay
                return cancelled;
            }
        };
        /** When the response deadline falls, on {@link System#nanoTime()}'s scale. */
        volatile long deadlineAt;
        /** What the deadline does: the call fails with 504 and its exchange is aborted. */
        Runnable late;
        // the deadline's task and its loop; guarded by this
        private io.netty.util.concurrent.ScheduledFuture<?> deadline;
        private EventLoop deadlineLoop;
        private boolean deadlineOff;
        /** The loop of this call's new connection when it makes one (at first also of its deadline). */
        volatile EventLoop loop;
        /** The loop is the caller's: an idle connection on it is taken first. */
        volatile boolean affine;
        volatile ChannelFuture connecting;
        volatile Channel channel;
        volatile Connection connection;
        // the rest only on the channel's event loop
        boolean requestWritten;
        boolean informational;
        int status;
        java.net.http.HttpHeaders headers;
        boolean keepAlive;
        /** What the upstream said of how long it keeps the connection idle ({@code Keep-Alive: timeout}); -1: nothing. */
        long keepAliveMs = -1;
        ByteArrayOutputStream body;
        long bodySize;
        StreamRelay relay;
        final Deque<byte[]> pending = new ArrayDeque<>();
        long demand;
        boolean upstreamEnded;
        boolean broken;
        boolean terminated;
        boolean cancelled;
        boolean delivering;
        boolean detached;
        /** The loop a stream began on, which keeps its state to the end. */
        volatile EventLoop streamLoop;

        Call(UpstreamTarget target, FullHttpRequest request, boolean buffered) {
            this.target = target;
            this.request = request;
            this.buffered = buffered;
            URI uri = target.uri();
            String scheme = uri.getScheme().toLowerCase(Locale.ROOT);
            int port = uri.getPort() != -1 ? uri.getPort() : scheme.equals("https") ? 443 : 80;
            this.origin = scheme + "://" + uri.getHost().toLowerCase(Locale.ROOT) + ":" + port;
            this.pool = target.upstream().name() + " " + origin;
        }

        /**
         * Stops the exchange: its connection is closed, never reused. Any thread. Only while the connection still
         * serves this call: a deadline on another loop than the connection's (a held call's, run after approval) can
         * fire just after the answer's end put the connection back in the pool, and another call may have taken it
         * since; closing it then cut that call (helper-56's note). Checked on the connection's loop, which alone
         * changes what it serves.
         */
        void abort() {
            leaveQueue();
            Channel ch = channel;
            if (ch != null) {
                Connection conn = connection;
                if (conn == null) {
                    ch.close();
                } else if (ch.eventLoop().inEventLoop()) {
                    closeIfServing(ch, conn);
                } else {
                    try {
                        ch.eventLoop().execute(() -> closeIfServing(ch, conn));
                    } catch (java.util.concurrent.RejectedExecutionException stopped) {
                        ch.close(); // its loop is stopping: closed with it anyway
                    }
                }
                return;
            }
            ChannelFuture c = connecting;
            if (c != null) {
                c.cancel(false);
                c.channel().close();
            }
        }

        /** Out of its limit's queue, if it waits there (it ended: timed out, cancelled). Any thread. */
        void leaveQueue() {
            Limit lim = limit;
            if (lim != null) {
                synchronized (lim) {
                    if (waiting) {
                        waiting = false;
                        lim.waiting.remove(this);
                    }
                }
            }
        }

        private void closeIfServing(Channel ch, Connection conn) {
            if (conn.call == this) {
                ch.close();
            }
        }

        void fail(GatewayException e) {
            cancelDeadline();
            if (relay != null) {
                streamBroken();
                return;
            }
            answer.completeExceptionally(e);
            abort();
        }

        private void cancelDeadline() {
            io.netty.util.concurrent.ScheduledFuture<?> d;
            synchronized (this) {
                deadlineOff = true;
                d = deadline;
                deadline = null;
            }
            if (d != null) {
                d.cancel(false);
            }
        }

        /**
         * Keeps the deadline on this loop from now on (at the same instant): the caller's at first, the connection's
         * once the call has one, so the timer is on the loop that carries the exchange. A loop that stops cancels
         * what it had scheduled without running it: the deadline then moves to a loop of the client's own, so a call
         * whose caller's loop stopped still ends (it waited forever when its connection was on another loop, or its
         * connect was refused by the stopped loop with nobody told). False when this loop takes no more tasks (nothing
         * changed then). Any thread.
         */
        boolean armDeadline(EventLoop where) {
            io.netty.util.concurrent.ScheduledFuture<?> next;
            io.netty.util.concurrent.ScheduledFuture<?> old;
            synchronized (this) {
                if (deadlineOff || answer.isDone()) {
                    return true;
                }
                if (deadlineLoop == where && deadline != null && !deadline.isDone()) {
                    return true;
                }
                if (where.isShuttingDown()) {
                    return false;
                }
                try {
                    next = where.schedule(late, Math.max(0, deadlineAt - System.nanoTime()), TimeUnit.NANOSECONDS);
                } catch (java.util.concurrent.RejectedExecutionException stopped) {
                    return false;
                }
                old = deadline;
                deadline = next;
                deadlineLoop = where;
            }
            if (old != null) {
                old.cancel(false); // no longer the deadline: its listener leaves it be
            }
            next.addListener(f -> {
                if (f.isCancelled()) {
                    lostDeadline(f);
                }
            });
            return true;
        }

        /** A deadline's task was cancelled: by this call (then nothing is done) or by its loop stopping. */
        private void lostDeadline(io.netty.util.concurrent.Future<?> task) {
            synchronized (this) {
                if (deadlineOff || deadline != task || answer.isDone()) {
                    return;
                }
                deadline = null;
                deadlineLoop = null;
            }
            if (closed || !armDeadline(group().next())) {
                late.run(); // no loop left to keep time on (the client is closing): it ends now
            }
        }

        /** What the codec read. On the event loop. */
        void read(Object msg) {
            if (msg instanceof HttpResponse r) {
                head(r);
            }
            if (msg instanceof HttpContent content && !terminated) {
                content(content);
            }
        }

        private void head(HttpResponse r) {
            if (r.decoderResult().isFailure() // a head too large or malformed
                    || r.headers() instanceof FramingHeaders f && f.contentLengthDropped && HttpUtil.isTransferEncodingChunked(r)) {
                // framed by both Content-Length and Transfer-Encoding (RFC 9112 6.3: a sign of response splitting, to
                // be handled as an error): Netty reads it by its chunks and drops the length, and the connection went
                // back to the pool as clean, whatever the upstream meant to send after it. Refused, as nginx does
                fail(GatewayException.upstreamError("the upstream's answer could not be read"));
                return;
            }
            int code = r.status().code();
            if (code == HttpResponseStatus.SWITCHING_PROTOCOLS.code() // never asked for: Upgrade is not forwarded
                    || code < 100 || code > 599 // no HTTP status: it was handed to the caller as it was
                    || !onlyChunked(r.headers().getAll(HttpHeaderNames.TRANSFER_ENCODING))) {
                // after a 101 the connection speaks something else, which the codec passes on unparsed: the call
                // waited out its deadline. A transfer coding other than chunked (gzip, chunked) left the body coded
                // once its chunks were read, with no Content-Encoding to say so: masking read compressed bytes
                fail(GatewayException.upstreamError("the upstream's answer could not be read"));
                return;
            }
            if (r.status().codeClass() == io.netty.handler.codec.http.HttpStatusClass.INFORMATIONAL) {
                informational = true; // 100 Continue and the like: the answer is still to come
                return;
            }
            status = r.status().code();
            headers = jdkHeaders(r.headers());
            keepAlive = HttpUtil.isKeepAlive(r);
            keepAliveMs = keepAliveTimeoutMs(r.headers().get("Keep-Alive"));
            if (answer.isDone()) {
                return;
            }
            if (!buffered && UpstreamClient.isLiveStream(headers)) {
                cancelDeadline(); // the deadline bounds a stream's head only; the relay watches for silence
                channel.config().setAutoRead(false); // nothing more is read before the relay asks for it
                streamLoop = channel.eventLoop();
                relay = owner.relay(headers);
                relay.onSubscribe(this);
                UpstreamResponse a;
                try {
                    a = owner.answer(status, headers, relay);
                } catch (GatewayException e) {
                    answer.completeExceptionally(e);
                    streamBroken();
                    return;
                } catch (RuntimeException e) {
                    answer.completeExceptionally(GatewayException.upstreamError("the upstream call failed"));
                    streamBroken();
                    return;
                }
                if (!answer.complete(a)) {
                    relay.abort(Outcome.TIMEOUT); // timed out or cancelled meanwhile: nobody reads it
                }
                return;
            }
            long declared = HttpUtil.getContentLength(r, -1L);
            if (declared > owner.maxBodyBytes()) {
                fail(GatewayException.upstreamError("the upstream's answer is too large"));
                return;
            }
            body = new ByteArrayOutputStream(declared > 0 ? (int) declared : 256);
        }

        private void content(HttpContent content) {
            if (informational) {
                if (content instanceof LastHttpContent) {
                    informational = false;
                }
                return;
            }
            if (content.decoderResult().isFailure()) {
                fail(GatewayException.upstreamError("the upstream's answer could not be read"));
                return;
            }
            ByteBuf data = content.content();
            int n = data.readableBytes();
            boolean last = content instanceof LastHttpContent;
            if (relay != null) {
                if (n > 0) {
                    byte[] copy = new byte[n];
                    data.readBytes(copy);
                    pending.add(copy);
                }
                if (last) {
                    upstreamEnded = true;
                    detached = true; // read whole: the connection can serve another call while the relay drains
                    release(channel, connection, keepAlive && requestWritten && !cancelled, keepAliveMs);
                }
                drain();
                return;
            }
            if (body == null || answer.isDone()) {
                return;
            }
            bodySize += n;
            if (bodySize > owner.maxBodyBytes()) {
                fail(GatewayException.upstreamError("the upstream's answer is too large"));
                return;
            }
            byte[] piece = new byte[n];
            data.readBytes(piece);
            body.write(piece, 0, n);
            if (last) {
                cancelDeadline();
                terminated = true;
                // read whole: the connection is free before the answer is handed on, so a next call can reuse it
                release(channel, connection, keepAlive && requestWritten && !answer.isDone(), keepAliveMs);
                try {
                    answer.complete(owner.answer(status, headers, body.toByteArray()));
                } catch (GatewayException e) {
                    answer.completeExceptionally(e);
                } catch (RuntimeException e) {
                    answer.completeExceptionally(GatewayException.upstreamError("the upstream call failed"));
                }
                body = null;
            }
        }

        /** The connection closed. On the event loop. */
        void closed() {
            if (relay != null) {
                if (!upstreamEnded) {
                    streamBroken();
                }
                return;
            }
            cancelDeadline();
            answer.completeExceptionally(UpstreamClient.failure(new IOException("closed")));
        }

        private void streamBroken() {
            if (upstreamEnded && !broken) {
                return; // read whole already: what is pending is still delivered
            }
            broken = true;
            pending.clear();
            if (!detached) {
                detached = true;
                Channel ch = channel;
                if (ch != null) {
                    ch.close();
                }
            }
            if (!terminated && !cancelled) {
                terminated = true;
                relay.onError(new IOException("the upstream stream broke off"));
            }
        }

        // ---- Flow.Subscription, for the relay: any thread -------------------------------------------

        @Override
        public void request(long n) {
            onLoop(() -> {
                if (n <= 0) {
                    cancelNow();
                    return;
                }
                demand = demand + n < 0 ? Long.MAX_VALUE : demand + n;
                drain();
            });
        }

        @Override
        public void cancel() {
            onLoop(this::cancelNow);
        }

        private void cancelNow() {
            if (cancelled) {
                return;
            }
            cancelled = true;
            pending.clear();
            if (!detached) {
                detached = true;
                channel.close(); // never reused: the rest of its answer is unread
            }
        }

        /**
         * On the loop the stream began on: its state lives there. Not the channel's loop now: read whole, the
         * connection went back to the pool while the relay drains, and a call on another loop may have moved it there
         * since (this stream's state was then touched from two threads, and the relay told from both at once).
         */
        private void onLoop(Runnable r) {
            EventLoop loop = streamLoop;
            if (loop.inEventLoop()) {
                r.run();
            } else {
                loop.execute(r);
            }
        }

        /** Delivers what is pending as far as the demand goes, then reads on only if there is demand left. */
        private void drain() {
            if (delivering || cancelled || terminated) {
                return;
            }
            delivering = true;
            try {
                while (demand > 0 && !pending.isEmpty() && !cancelled) {
                    demand--;
                    relay.onNext(List.of(ByteBuffer.wrap(pending.poll())));
                }
                if (pending.isEmpty() && upstreamEnded && !cancelled && !terminated) {
                    terminated = true;
                    relay.onComplete();
                }
            } finally {
                delivering = false;
            }
            if (!detached && !cancelled && !terminated) {
                channel.config().setAutoRead(demand > 0 && pending.isEmpty());
            }
        }
    }

    /** No Transfer-Encoding, or exactly one transfer coding, chunked: the only framing read as such. */
    static boolean onlyChunked(List<String> transferEncodings) {
        if (transferEncodings.isEmpty()) {
            return true;
        }
        int codings = 0;
        for (String line : transferEncodings) {
            for (String coding : line.split(",", -1)) {
                if (!coding.trim().equalsIgnoreCase("chunked") || ++codings > 1) {
                    return false;
                }
            }
        }
        return codings == 1;
    }

    /**
     * A response head's headers that remember the codec dropping its Content-Length because Transfer-Encoding was
     * there as well (Netty's {@code handleTransferEncodingChunkedWithContentLength}, which leaves no other trace).
     */
    static final class FramingHeaders extends DefaultHttpHeaders {
        static final HttpHeadersFactory FACTORY = new HttpHeadersFactory() {
            @Override
            public HttpHeaders newHeaders() {
                return new FramingHeaders();
            }

            @Override
            public HttpHeaders newEmptyHeaders() {
                return new FramingHeaders();
            }
        };

        boolean contentLengthDropped;

        FramingHeaders() {
            super(true); // validating, as the codec's own
        }

        @Override
        public HttpHeaders remove(CharSequence name) {
            if (HttpHeaderNames.CONTENT_LENGTH.contentEqualsIgnoreCase(name) && contains(name)) {
                contentLengthDropped = true;
            }
            return super.remove(name);
        }

        @Override
        public HttpHeaders remove(String name) {
            return remove((CharSequence) name);
        }
    }

    private static java.net.http.HttpHeaders jdkHeaders(io.netty.handler.codec.http.HttpHeaders h) {
        Map<String, List<String>> map = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
        for (Map.Entry<String, String> e : h) {
            map.computeIfAbsent(e.getKey(), k -> new ArrayList<>()).add(e.getValue());
        }
        return java.net.http.HttpHeaders.of(map, (a, b) -> true);
    }
}
