package attest.policy;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Counts the calls policy refused (403, and policy's own 413 and 429) per caller and window, so that a caller past
 * {@code perWindow} of them is refused at the front door for the rest of the window: 429 {@code too_many_denials}
 * on its headers, recorded like any front-door refusal (one by one up to {@code attest.evidence.refusals-per-source},
 * then counted into a {@code refusal.summary}). Without it, a signed-in caller with no role added a record, a chain
 * entry and an event (about 5 KB) to the append-only store per request, with no bound (docs/security.md).
 * <p>
 * A caller is its token's subject, or a virtual key (by the SHA-256 of its secret: the secret itself is never held).
 * Beside a key's count is the key's id and owner ({@link KeyName}, known when its call was counted: the key was
 * resolved by then), so that the door's refusal names the key as its calls' evidence does; bounded with the counts.
 * Windows are aligned to the epoch, as {@code RefusalLimiter}'s. At most {@code maxCallers} are tracked; a new caller
 * past that is not tracked (its denials are recorded one by one, as before), never put in a shared bucket that would
 * refuse other callers. Per instance: each replica counts what it saw.
 */
public final class DenialLimiter {
    /** No limit: nothing is counted and nobody is refused. */
    public static final DenialLimiter OFF = new DenialLimiter(0, 60_000, 1);

    /**
     * The virtual key a digest was counted for, as a call made with it names it in its evidence: its id
     * ({@code key_id}) and its owner's subject ({@code subject}). Never the secret or its digest.
     */
    public record KeyName(java.util.UUID id, String ownerSubject) {
        public KeyName {
            java.util.Objects.requireNonNull(id, "key id");
        }
    }

    /** A caller's count in the window that starts at {@code start}, and the key it is when it is one (else null). */
    private record Window(long start, int denied, KeyName key) {
    }

    private final int perWindow;
    private final long windowMillis;
    private final int maxCallers;
    private final ConcurrentHashMap<String, Window> windows = new ConcurrentHashMap<>();

    /**
     * @param perWindow  refused calls a caller may have in a window before it is refused at the door (0: off)
     * @param windowMillis the window's length
     * @param maxCallers callers tracked at most
     */
    public DenialLimiter(int perWindow, long windowMillis, int maxCallers) {
        if (perWindow < 0 || windowMillis <= 0 || maxCallers < 1) {
            throw new IllegalArgumentException("denial limiter: perWindow >= 0, window > 0, maxCallers >= 1");
        }
        this.perWindow = perWindow;
        this.windowMillis = windowMillis;
        this.maxCallers = maxCallers;
    }

    /** The caller a token names. */
    public static String subject(String subject) {
        return subject == null || subject.isEmpty() ? null : "sub:" + subject;
    }

    /** The caller a virtual key is (its secret's digest). */
    public static String key(String secret) {
        if (secret == null) {
            return null;
        }
        try {
            return "key:" + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                    .digest(secret.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    public boolean enabled() {
        return perWindow > 0;
    }

    /** Policy refused a call of {@code caller} at {@code nowMillis} (a caller whose key is not known). */
    public void denied(String caller, long nowMillis) {
        denied(caller, null, nowMillis);
    }

    /**
     * Policy refused a call of {@code caller} at {@code nowMillis}; {@code key} is the virtual key the call was made
     * with (null for a token), kept beside the count so that the door's refusal can name it ({@link #keyOf}). It is
     * kept for a key's digest only: a token's subject never gets a key's name.
     */
    public void denied(String caller, KeyName key, long nowMillis) {
        if (!enabled() || caller == null) {
            return;
        }
        KeyName named = caller.startsWith("key:") ? key : null;
        long start = nowMillis - Math.floorMod(nowMillis, windowMillis);
        if (!windows.containsKey(caller) && windows.size() >= maxCallers) {
            windows.values().removeIf(w -> w.start() < start);
            if (windows.size() >= maxCallers) {
                return; // not tracked: recorded one by one, as without a limit
            }
        }
        windows.merge(caller, new Window(start, 1, named), (old, one) -> old.start() != start ? one
                : new Window(start, old.denied() + 1, named != null ? named : old.key()));
    }

    /**
     * Whole seconds (at least 1) until {@code caller} may call again when it had {@code perWindow} refused calls in
     * the window of {@code nowMillis}; 0 when it may call now.
     */
    public long retryAfterSeconds(String caller, long nowMillis) {
        if (!enabled() || caller == null) {
            return 0;
        }
        Window w = windows.get(caller);
        long start = nowMillis - Math.floorMod(nowMillis, windowMillis);
        if (w == null || w.start() != start || w.denied() < perWindow) {
            return 0;
        }
        long left = start + windowMillis - nowMillis;
        return Math.max(1, (left + 999) / 1000);
    }

    /** How many of {@code caller}'s calls policy refused in the window of {@code nowMillis}. */
    public int deniedInWindow(String caller, long nowMillis) {
        Window w = caller == null ? null : windows.get(caller);
        return w == null || w.start() != nowMillis - Math.floorMod(nowMillis, windowMillis) ? 0 : w.denied();
    }

    /**
     * The virtual key {@code caller} (a key's digest) was counted for in the window of {@code nowMillis}, or null:
     * not a key, not tracked, counted in an earlier window, or counted without its key.
     */
    public KeyName keyOf(String caller, long nowMillis) {
        Window w = caller == null ? null : windows.get(caller);
        return w == null || w.start() != nowMillis - Math.floorMod(nowMillis, windowMillis) ? null : w.key();
    }

    /** How many callers are tracked now. */
    public int trackedCallers() {
        return windows.size();
    }
}
