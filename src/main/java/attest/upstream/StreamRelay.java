package attest.upstream;

import attest.evidence.Outcome;
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
 * When the upstream finishes (or fails, goes silent, or the caller goes away) and the caller's connection has been
 * handed everything queued for it, {@link #ended()} completes, with the size, digest and capture of exactly the bytes
 * handed to the caller. The terminating chunk is only written after {@link #release(boolean)} is called with
 * {@code true}: the evidence stage calls it once the record is committed, so a stream never completes without
 * evidence. A stream that did not complete is ended the same way, after its evidence: the caller is handed what is
 * queued (and what the transform can still release, {@link Transform#abandon()}), then its connection is closed without
 * the terminating chunk, so it can tell the stream was cut.
 */
public final class StreamRelay implements HttpResponse.BodySubscriber<StreamRelay> {
    private static final long HIGH_WATER = 256 * 1024;

    /** A transform's refusal: the stream is cut and ends with this outcome. */
    public static class Cut extends RuntimeException {
        private final Outcome outcome;

        public Cut(Outcome outcome) {
            super(outcome.wire(), null, false, false);
            this.outcome = outcome;
        }

        public Outcome outcome() {
            return outcome;
        }
    }

    /** Rewrites the stream on its way through (masking). Its failures cut the stream. */
    public interface Transform {
        byte[] push(byte[] raw);

        byte[] finish();

        /**
         * The stream ends without completing (the upstream broke off or went silent, the caller went away, the gateway
         * cut it): returns what may still go out to the caller (possibly nothing); whatever else it holds is dropped,
         * never released as it is. The relay sends the bytes unless the caller is gone or the transform itself failed.
         */
        byte[] abandon();
    }

    private final Clock clock;
    private final int captureLimit;
    private final ConcurrentLinkedQueue<ByteBuf> queue = new ConcurrentLinkedQueue<>();
    private final AtomicLong queuedBytes = new AtomicLong();
    private final AtomicBoolean paused = new AtomicBoolean();
    private final AtomicBoolean ending = new AtomicBoolean();
    /**
     * Serialises the upstream side (transform and queue) with its end: the transform is not thread-safe, and no piece
     * may be queued once the stream's end has been decided (taken before the digest's lock, never after it).
     */
    private final Object flow = new Object();
    /** How the upstream side ended, once it has (null while it runs); the stream's evidence waits for the drain. */
    private volatile Outcome outcome;
    /** The caller is to be cut off once everything queued is handed over: no terminating chunk. */
    private volatile boolean cut;
    /** When the caller's connection last took a piece (or the upstream side ended): a caller that stalls is cut off. */
    private volatile long lastTakenNanos = System.nanoTime();
    private volatile ScheduledExecutorService scheduler;
    private volatile Duration idleTimeout;
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
    /** Closes a cut stream's connection if its writer never gets to the end (a caller whose socket stays full). */
    private volatile ScheduledFuture<?> closeWatch;
    /** The thread inside {@link #readChunk}'s request for more, if any: a wake-up from it would nest a flush. */
    private volatile Thread requestingOn;
    private long size;
    private boolean truncated;
    /** {@link #ended()} was completed (under the digest's lock). */
    private boolean finished;

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
        synchronized (flow) {
            for (ByteBuffer b : items) {
                int raw = b.remaining();
                if (raw == 0) {
                    continue;
                }
                byte[] bytes = new byte[raw];
                b.get(bytes);
                if (!accept(bytes, true)) {
                    break;
                }
            }
        }
        if (ending.get()) { // ended (cut by the transform, or meanwhile by another thread): nothing more is asked for
            afterEnd();
            return;
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
     * false when the stream was cut or has ended. Under {@link #flow}.
     */
    private boolean accept(byte[] received, boolean decode) {
        if (ending.get()) {
            return false;
        }
        byte[] bytes = received;
        ContentCodings.Decoder d = decoder;
        if (d != null && decode) {
            try {
                bytes = d.push(bytes);
            } catch (ContentCodings.Refused e) {
                endLocked(Outcome.UPSTREAM_ERROR);
                cancel();
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
                // decided before the upstream is cancelled: a cancel that fails the upstream at once must not make
                // this an upstream error, whose break-off would release what the failed masker holds
                endLocked(e instanceof Cut c ? c.outcome() : Outcome.MASKING_FAILED);
                cancel();
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

    /**
     * Queues bytes for the caller; false when there were none. They are recorded (digest, size, capture) when they are
     * handed to the caller's connection ({@link #readChunk}), so the evidence never counts a piece the caller was not
     * sent.
     */
    private boolean offer(byte[] bytes) {
        int n = bytes.length;
        if (n == 0) {
            return false;
        }
        queue.add(Unpooled.wrappedBuffer(bytes));
        queuedBytes.addAndGet(n);
        return true;
    }

    /** Records a piece handed to the caller: digest, size, capture. Under the digest's lock. */
    private void hand(ByteBuf b) {
        int n = b.readableBytes();
        byte[] a = b.array();
        int at = b.arrayOffset() + b.readerIndex();
        digest.update(a, at, n);
        size += n;
        int room = captureLimit - capture.size();
        if (room > 0) {
            capture.write(a, at, Math.min(room, n));
        }
        if (n > room) {
            truncated = true;
        }
    }

    @Override
    public void onError(Throwable t) {
        end(Outcome.UPSTREAM_ERROR);
    }

    @Override
    public void onComplete() {
        synchronized (flow) {
            if (ending.get()) {
                return;
            }
            complete();
        }
        afterEnd();
    }

    /** The upstream's body is whole: the rest of the decoder and the transform go out, and the stream completes. */
    private void complete() {
        ContentCodings.Decoder d = decoder;
        if (d != null) {
            try {
                if (!accept(d.finish(), false)) {
                    return;
                }
            } catch (ContentCodings.Refused e) {
                endLocked(Outcome.UPSTREAM_ERROR);
                return;
            }
        }
        Transform t = transform;
        if (t != null) {
            try {
                offer(t.finish());
            } catch (RuntimeException e) {
                endLocked(e instanceof Cut c ? c.outcome() : Outcome.MASKING_FAILED);
                return;
            }
        }
        endLocked(Outcome.COMPLETED);
    }

    // ---- control ------------------------------------------------------------------------------------

    /** Binds the caller's channel: wakes the chunked writer on new data and notices the caller leaving. */
    public void bind(Channel ch, ScheduledExecutorService scheduler, Duration idleTimeout) {
        this.scheduler = scheduler;
        this.idleTimeout = idleTimeout;
        this.channel = ch;
        this.bound = true;
        requestFirst();
        ch.closeFuture().addListener(f -> {
            if (!lastSent) {
                callerGone();
            }
        });
        long idleNanos = idleTimeout.toNanos();
        long period = Math.max(50, Math.min(1000, idleTimeout.toMillis() / 4));
        idleWatch = scheduler.scheduleAtFixedRate(() -> {
            long now = System.nanoTime();
            if (!ending.get()) {
                if (now - lastActivityNanos > idleNanos) {
                    abort(Outcome.TIMEOUT);
                }
            } else if (!ended.isDone() && now - lastTakenNanos > idleNanos) {
                callerStalled();
            }
        }, period, period, TimeUnit.MILLISECONDS);
    }

    /**
     * The caller's connection closed before the stream's end was handed to it: a stream still running ends as
     * {@code client_aborted}; one whose upstream side had ended but whose pieces were still queued loses them (they
     * are not counted: the record claims only what was handed over), and a completed one is recorded as
     * {@code client_aborted} (the caller did not get all of it).
     */
    private void callerGone() {
        abort(Outcome.CLIENT_ABORTED);
        dropUnhanded(Outcome.CLIENT_ABORTED);
    }

    /**
     * The upstream side has ended, but the caller has taken nothing queued for it for the idle timeout: what it has
     * not taken is dropped (and not counted), a completed stream is recorded as {@code timeout}, and its evidence is
     * settled; the release then cuts the connection.
     */
    private void callerStalled() {
        dropUnhanded(Outcome.TIMEOUT);
    }

    /** Drops what is queued and not yet handed to the caller; a completed stream that loses some ends {@code as}. */
    private void dropUnhanded(Outcome as) {
        synchronized (flow) {
            synchronized (digest) {
                if (!ended.isDone() && !queue.isEmpty() && Outcome.COMPLETED.equals(outcome)) {
                    outcome = as;
                }
                dropQueue();
            }
        }
        finishIfDrained();
    }

    /**
     * Completes when the upstream side is over and the caller's connection has been handed everything queued for it
     * (or the rest was dropped: the caller went away or stalled), with how it ended and exactly what was handed over.
     */
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
     * Called by the evidence stage when the record is (or cannot be) committed; by then everything queued has been
     * handed to the caller (the stream's evidence waits for that). With {@code true} and a completed stream the caller
     * gets the terminating chunk; otherwise its connection is closed once what was handed to it is written, without
     * the terminating chunk, so the caller sees a broken stream rather than a complete-looking one.
     */
    public void release(boolean committed) {
        StreamEnd end = ended.getNow(null);
        if (committed && end != null && Outcome.COMPLETED.equals(end.outcome())) {
            released = true;
            wake();
            return;
        }
        cut = true;
        Channel ch = channel;
        if (ch == null || !ch.isActive() || ch.pipeline().get(ChunkedWriteHandler.class) == null) {
            closeChannel();
            return;
        }
        wake(); // the writer finds the queue empty and the input at its end: an empty write, then close()
        ScheduledExecutorService s = scheduler;
        Duration idle = idleTimeout;
        if (s != null && idle != null) {
            try {
                // a caller that takes nothing (its socket full) never lets the writer get there: bounded
                closeWatch = s.schedule(this::closeChannel, idle.toMillis(), TimeUnit.MILLISECONDS);
            } catch (java.util.concurrent.RejectedExecutionException e) {
                closeChannel();
            }
        }
    }

    /** Stops relaying: cancels the upstream and ends with the given outcome. */
    public void abort(Outcome outcome) {
        synchronized (flow) {
            endLocked(outcome); // decided first: the cancel may fail the upstream at once (onError), which must not win
            cancel();
        }
        afterEnd();
    }

    private void cancel() {
        Flow.Subscription s = subscription;
        if (s != null) {
            s.cancel();
        }
    }

    private void end(Outcome outcome) {
        synchronized (flow) {
            endLocked(outcome);
        }
        afterEnd();
    }

    /**
     * Decides the stream's end, once. A stream that did not complete asks the transform for what it can still release
     * (masked; a held piece of an entity is dropped and reported) and queues it behind what is queued, unless the
     * caller is gone (nothing can reach it: what is queued is dropped and not counted) or the transform failed or
     * refused the answer (nothing more of it goes out). Under {@link #flow}.
     */
    private void endLocked(Outcome how) {
        if (!ending.compareAndSet(false, true)) {
            return;
        }
        Outcome o = how;
        Transform t = transform;
        if (t != null && !Outcome.COMPLETED.equals(how)) {
            // a break-off (the upstream failed or went silent, the gateway cut it): what the transform releases goes out
            boolean deliver = !gone(how) && !Outcome.BLOCKED.equals(how) && !Outcome.MASKING_FAILED.equals(how);
            try {
                byte[] last = t.abandon();
                if (deliver) {
                    offer(last == null ? new byte[0] : last);
                }
            } catch (Cut c) {
                o = deliver ? c.outcome() : how; // the masker refused or failed now: nothing of it goes out
            } catch (RuntimeException e) {
                o = deliver ? Outcome.MASKING_FAILED : how;
            }
        }
        synchronized (digest) {
            if (gone(how)) {
                dropQueue();
            }
            lastTakenNanos = System.nanoTime(); // the caller's time to take what is left starts now
            outcome = o;
        }
    }

    /**
     * Whether nothing more is sent after an end like this: the caller went away, or the gateway cut its streams to
     * stop (a drain's {@code aborted}), which must not wait for a slow caller. What is queued is dropped, not counted.
     */
    private static boolean gone(Outcome how) {
        return Outcome.CLIENT_ABORTED.equals(how) || Outcome.ABORTED.equals(how);
    }

    /** After the end is decided: the evidence is settled at once when nothing waits for the caller, else after it. */
    private void afterEnd() {
        finishIfDrained();
        if (!ended.isDone()) {
            wake();
        }
    }

    /**
     * Completes {@link #ended()} once the upstream side has ended and the caller has been handed everything queued (or
     * it was dropped): the record then says exactly what the caller was sent. Without a caller's connection (a relay
     * never bound) what is queued counts as handed over.
     */
    private void finishIfDrained() {
        Outcome o = outcome;
        if (o == null || ended.isDone()) {
            return;
        }
        StreamEnd end;
        synchronized (digest) {
            if (channel == null) {
                ByteBuf b;
                while ((b = queue.poll()) != null) {
                    queuedBytes.addAndGet(-b.readableBytes());
                    hand(b);
                    b.release();
                }
            }
            if (!queue.isEmpty() || finished) {
                return;
            }
            finished = true;
            end = new StreamEnd(outcome, firstByteAt, clock.instant(), size, HexFormat.of().formatHex(digest.digest()),
                    capture.toByteArray(), truncated, rawSize, HexFormat.of().formatHex(rawDigest.digest()),
                    timings(), transform != null && rawSize <= captureLimit ? rawCapture.toByteArray() : null);
        }
        ScheduledFuture<?> w = idleWatch;
        if (w != null) {
            w.cancel(false);
        }
        ended.complete(end);
    }

    /** Drops what is queued and not handed over. Under the digest's lock. */
    private void dropQueue() {
        ByteBuf b;
        while ((b = queue.poll()) != null) {
            queuedBytes.addAndGet(-b.readableBytes());
            b.release();
        }
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
        ScheduledFuture<?> w = closeWatch;
        if (w != null) {
            w.cancel(false);
        }
        Channel ch = channel;
        if (ch != null) {
            ch.close();
        }
        synchronized (digest) {
            dropQueue();
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
        ByteBuf b;
        synchronized (digest) { // taken and counted at once: the stream's evidence never misses a piece handed over
            b = queue.poll();
            if (b != null) {
                hand(b);
            }
        }
        if (b != null) {
            lastTakenNanos = System.nanoTime();
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
        if (outcome != null && !ended.isDone()) {
            // all handed over: the stream's evidence is settled (what waits for it goes on on other threads, or later
            // on this loop; a wake-up from it must not nest a flush in this read)
            requestingOn = Thread.currentThread();
            try {
                finishIfDrained();
            } finally {
                requestingOn = null;
            }
        }
        if (released && !lastSent) {
            lastSent = true;
            settled.complete(null);
            return LastHttpContent.EMPTY_LAST_CONTENT;
        }
        if (cut && !lastSent) {
            // the end of the input without a terminating chunk: the writer writes nothing more and, once what was
            // handed over is written, closes the input (close()), which closes the connection
            lastSent = true;
        }
        return null;
    }

    /** The chunked writer is done with the input (written to its end, or the connection is gone). */
    void close() {
        synchronized (digest) {
            dropQueue();
        }
        if (cut) {
            closeChannel();
        }
    }
}
