package attest.upstream;

import attest.http.Outcomes;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.stream.ChunkedWriteHandler;

import java.io.ByteArrayOutputStream;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Flow;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Relays an upstream's streamed body to the caller without buffering it and without blocking a thread.
 * <p>
 * The JDK HTTP client pushes body parts in ({@link Flow.Subscriber}); Netty's chunked writer pulls them
 * out ({@link #readChunk()}), and is woken with {@code resumeTransfer()} whenever a part arrives. Demand is
 * bounded, so a slow caller slows the upstream down rather than filling memory.
 * <p>
 * When the upstream finishes (or fails, goes silent, or the caller goes away), {@link #ended()} completes.
 * The terminating chunk is only written after {@link #release(boolean)} is called with {@code true}: the
 * evidence stage calls it once the record is committed, so a stream never completes without evidence.
 */
public final class StreamRelay implements HttpResponse.BodySubscriber<StreamRelay> {
    private static final long HIGH_WATER = 256 * 1024;

    /** A transform's refusal: the stream is cut and ends with this outcome. */
    public static class Cut extends RuntimeException {
        private final String outcome;

        public Cut(String outcome) {
            super(outcome, null, false, false);
            this.outcome = outcome;
        }

        public String outcome() {
            return outcome;
        }
    }

    /** Rewrites the stream on its way through (masking). Its failures cut the stream. */
    public interface Transform {
        byte[] push(byte[] raw);

        byte[] finish();

        void abandon();
    }

    private final Clock clock;
    private final int captureLimit;
    private final ConcurrentLinkedQueue<ByteBuf> queue = new ConcurrentLinkedQueue<>();
    private final AtomicLong queuedBytes = new AtomicLong();
    private final AtomicBoolean paused = new AtomicBoolean();
    private final AtomicBoolean ending = new AtomicBoolean();
    private final CompletableFuture<StreamEnd> ended = new CompletableFuture<>();
    private final CompletableFuture<Void> settled = new CompletableFuture<>();
    private final ByteArrayOutputStream capture = new ByteArrayOutputStream();
    /** The upstream's bytes before any transform (masking), kept while they fit the capture limit. */
    private final ByteArrayOutputStream rawCapture = new ByteArrayOutputStream();
    private final MessageDigest digest;
    private final MessageDigest rawDigest;
    private final AtomicBoolean started = new AtomicBoolean();
    private volatile boolean bound;
    private volatile Transform transform;
    private volatile ContentCodings.Decoder decoder;
    private long rawSize;
    private volatile Flow.Subscription subscription;
    private volatile Channel channel;
    private volatile Instant firstByteAt;
    private long firstByteNanos;
    /** At most this many arrival times are kept per stream. */
    public static final int MAX_TIMINGS = 1000;
    /** Arrival times: pairs of (milliseconds since the first byte, bytes), written out when the stream ends. */
    private long[] timings = new long[16];
    private int timingCount;
    private volatile long lastActivityNanos = System.nanoTime();
    private volatile boolean released;
    private volatile boolean lastSent;
    private volatile ScheduledFuture<?> idleWatch;
    /** The thread inside {@link #readChunk}'s request for more, if any: a wake-up from it would nest a flush. */
    private volatile Thread requestingOn;
    private long size;
    private boolean truncated;

    public StreamRelay(Clock clock, int captureLimit) {
        this.clock = clock;
        this.captureLimit = captureLimit;
        try {
            this.digest = MessageDigest.getInstance("SHA-256");
            this.rawDigest = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    // ---- upstream side (JDK HttpClient) -------------------------------------------------------------

    @Override
    public CompletionStage<StreamRelay> getBody() {
        return CompletableFuture.completedFuture(this);
    }

    @Override
    public void onSubscribe(Flow.Subscription s) {
        this.subscription = s;
        if (ending.get()) {
            s.cancel();
        } else if (bound) {
            requestFirst();
        }
    }

    /** The installed transform, or null: a later stage (usage) wraps it and installs the result. */
    public Transform transform() {
        return transform;
    }

    /** Installs a transform; must happen before {@link #bind}, when the first bytes are requested. */
    public void transform(Transform t) {
        this.transform = t;
    }

    private void requestFirst() {
        Flow.Subscription s = subscription;
        if (s != null && started.compareAndSet(false, true)) {
            s.request(1);
        }
    }

    @Override
    public void onNext(List<ByteBuffer> items) {
        lastActivityNanos = System.nanoTime();
        for (ByteBuffer b : items) {
            int raw = b.remaining();
            if (raw == 0) {
                continue;
            }
            byte[] bytes = new byte[raw];
            b.get(bytes);
            if (!accept(bytes, true)) {
                return;
            }
        }
        if (queuedBytes.get() < HIGH_WATER) {
            subscription.request(1);
        } else {
            paused.set(true);
            // the caller may have drained the queue between the check and the pause, and seen no pause to lift:
            // then nobody would ask for more and the stream would stall until the idle timeout
            if (queuedBytes.get() < HIGH_WATER / 2 && paused.compareAndSet(true, false) && !ending.get()) {
                subscription.request(1);
            }
        }
        wake();
    }

    /**
     * Decodes (content coding), records as the upstream's body, transforms (masking) and queues a piece;
     * false when the stream was cut.
     */
    private boolean accept(byte[] received, boolean decode) {
        byte[] bytes = received;
        ContentCodings.Decoder d = decoder;
        if (d != null && decode) {
            try {
                bytes = d.push(bytes);
            } catch (ContentCodings.Refused e) {
                abort(Outcomes.UPSTREAM_ERROR);
                return false;
            }
        }
        int raw = bytes.length;
        if (raw == 0) {
            return true;
        }
        synchronized (digest) {
            if (firstByteAt == null) { // the first byte of the body, not an empty buffer before it
                firstByteAt = clock.instant();
                firstByteNanos = System.nanoTime();
            }
            rawDigest.update(bytes);
            rawSize += raw;
            if (transform != null && rawSize <= captureLimit) {
                rawCapture.write(bytes, 0, raw);
            }
            if (timingCount < MAX_TIMINGS) {
                if (2 * timingCount + 2 > timings.length) {
                    timings = Arrays.copyOf(timings, Math.min(2 * MAX_TIMINGS, 2 * timings.length));
                }
                timings[2 * timingCount] = (System.nanoTime() - firstByteNanos) / 1_000_000;
                timings[2 * timingCount + 1] = raw;
                timingCount++;
            }
        }
        Transform t = transform;
        if (t != null) {
            try {
                bytes = t.push(bytes);
            } catch (RuntimeException e) {
                abort(e instanceof Cut cut ? cut.outcome() : Outcomes.MASKING_FAILED);
                return false;
            }
        }
        offer(bytes);
        return true;
    }

    /**
     * Installs a decoder for the upstream's content coding: the relay then records, masks and relays the
     * decoded bytes (the caller gets them without Content-Encoding). Must happen before the first bytes.
     */
    public void decoder(ContentCodings.Decoder d) {
        this.decoder = d;
    }

    /** Records and queues bytes for the caller; false when there were none. */
    private boolean offer(byte[] bytes) {
        int n = bytes.length;
        if (n == 0) {
            return false;
        }
        synchronized (digest) {
            digest.update(bytes);
            size += n;
            int room = captureLimit - capture.size();
            if (room > 0) {
                capture.write(bytes, 0, Math.min(room, n));
            }
            if (n > room) {
                truncated = true;
            }
        }
        queue.add(Unpooled.wrappedBuffer(bytes));
        queuedBytes.addAndGet(n);
        return true;
    }

    @Override
    public void onError(Throwable t) {
        end(Outcomes.UPSTREAM_ERROR);
    }

    @Override
    public void onComplete() {
        ContentCodings.Decoder d = decoder;
        if (d != null) {
            try {
                if (!accept(d.finish(), false)) {
                    return;
                }
            } catch (ContentCodings.Refused e) {
                end(Outcomes.UPSTREAM_ERROR);
                return;
            }
        }
        Transform t = transform;
        if (t != null) {
            try {
                offer(t.finish());
            } catch (RuntimeException e) {
                end(e instanceof Cut cut ? cut.outcome() : Outcomes.MASKING_FAILED);
                return;
            }
        }
        end(Outcomes.COMPLETED);
    }

    // ---- control ------------------------------------------------------------------------------------

    /** Binds the caller's channel: wakes the chunked writer on new data and notices the caller leaving. */
    public void bind(Channel ch, ScheduledExecutorService scheduler, Duration idleTimeout) {
        this.channel = ch;
        this.bound = true;
        requestFirst();
        ch.closeFuture().addListener(f -> {
            if (!lastSent) {
                abort(Outcomes.CLIENT_ABORTED);
            }
        });
        long idleNanos = idleTimeout.toNanos();
        long period = Math.max(50, Math.min(1000, idleTimeout.toMillis() / 4));
        idleWatch = scheduler.scheduleAtFixedRate(() -> {
            if (!ending.get() && System.nanoTime() - lastActivityNanos > idleNanos) {
                abort(Outcomes.TIMEOUT);
            }
        }, period, period, TimeUnit.MILLISECONDS);
    }

    /** Completes when the upstream side is over, with how it ended. */
    public CompletableFuture<StreamEnd> ended() {
        return ended;
    }

    /**
     * Completes once the stream is over for the caller too: its evidence was committed and the terminating
     * chunk handed to the channel, or the channel was closed.
     */
    public CompletableFuture<Void> settled() {
        return settled;
    }

    /**
     * Called by the evidence stage when the record is (or cannot be) committed. With {@code true} and a
     * completed stream the caller gets the terminating chunk; otherwise the connection is closed, so the
     * caller sees a broken stream rather than a complete-looking one.
     */
    public void release(boolean committed) {
        StreamEnd end = ended.getNow(null);
        if (committed && end != null && Outcomes.COMPLETED.equals(end.outcome())) {
            released = true;
            wake();
        } else {
            closeChannel();
        }
    }

    /** Stops relaying: cancels the upstream and ends with the given outcome. */
    public void abort(String outcome) {
        Flow.Subscription s = subscription;
        if (s != null) {
            s.cancel();
        }
        end(outcome);
    }

    private void end(String outcome) {
        if (!ending.compareAndSet(false, true)) {
            return;
        }
        ScheduledFuture<?> w = idleWatch;
        if (w != null) {
            w.cancel(false);
        }
        Transform t = transform;
        if (t != null && !Outcomes.COMPLETED.equals(outcome)) {
            // the stream broke off: whatever the transform holds (half an entity, perhaps) is dropped
            t.abandon();
        }
        StreamEnd end;
        synchronized (digest) {
            end = new StreamEnd(outcome, firstByteAt, clock.instant(), size, HexFormat.of().formatHex(digest.digest()),
                    capture.toByteArray(), truncated, rawSize, HexFormat.of().formatHex(rawDigest.digest()),
                    timings(), transform != null && rawSize <= captureLimit ? rawCapture.toByteArray() : null);
        }
        ended.complete(end);
    }

    /** The arrival times as JSON: {@code [[ms,bytes],...]}. Under the digest's lock. */
    private String timings() {
        StringBuilder b = new StringBuilder(timingCount * 8 + 2).append('[');
        for (int i = 0; i < timingCount; i++) {
            b.append(i == 0 ? "" : ",").append('[').append(timings[2 * i]).append(',').append(timings[2 * i + 1])
                    .append(']');
        }
        return b.append(']').toString();
    }

    private void closeChannel() {
        Channel ch = channel;
        if (ch != null) {
            ch.close();
        }
        ByteBuf b;
        while ((b = queue.poll()) != null) {
            b.release();
        }
        settled.complete(null);
    }

    private void wake() {
        Channel ch = channel;
        if (ch != null && requestingOn != Thread.currentThread()) { // never a flush nested in the caller's own read
            ChunkedWriteHandler writer = ch.pipeline().get(ChunkedWriteHandler.class);
            if (writer != null) {
                writer.resumeTransfer();
            }
        }
    }

    // ---- caller side (Netty ChunkedWriteHandler, on the event loop) ------------------------------------

    boolean isEndOfInput() {
        return lastSent;
    }

    HttpContent readChunk(ByteBufAllocator alloc) {
        ByteBuf b = queue.poll();
        if (b != null) {
            long left = queuedBytes.addAndGet(-b.readableBytes());
            if (left < HIGH_WATER / 2 && paused.compareAndSet(true, false) && !ending.get()) {
                // when the upstream's connection shares this loop, the request reads on at once and queues the next
                // piece; its wake-up must not flush from inside this read, or that piece would go out before this one
                // (the chunked writer reads on by itself once this chunk is written)
                requestingOn = Thread.currentThread();
                try {
                    subscription.request(1);
                } finally {
                    requestingOn = null;
                }
            }
            return new DefaultHttpContent(b);
        }
        if (released && !lastSent) {
            lastSent = true;
            settled.complete(null);
            return LastHttpContent.EMPTY_LAST_CONTENT;
        }
        return null;
    }

    void close() {
        ByteBuf b;
        while ((b = queue.poll()) != null) {
            b.release();
        }
    }
}
