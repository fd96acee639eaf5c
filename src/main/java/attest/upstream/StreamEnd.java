package attest.upstream;

import attest.evidence.Outcome;

import java.time.Instant;

/**
 * How a relayed stream ended.
 *
 * @param outcome     completed, upstream_error, timeout or client_aborted
 * @param firstByteAt when the first byte arrived from the upstream (null if none)
 * @param endedAt     when the stream ended
 * @param size        bytes handed to the caller's connection (what it was sent; a caller that went away or stalled:
 *                    only what it took)
 * @param sha256      hex digest of exactly those bytes
 * @param captured    the bytes kept for evidence (up to the capture limit)
 * @param truncated   whether {@code captured} is shorter than the stream
 * @param rawSize     bytes received from the upstream (before masking)
 * @param rawSha256   hex digest of the bytes received from the upstream
 * @param timings     when each piece arrived from the upstream: JSON {@code [[ms after the first byte, bytes], ...]}
 *                    (the first {@value StreamRelay#MAX_TIMINGS})
 * @param rawCaptured the upstream's bytes before masking, when masking ran and they fit the capture limit
 *                    (else null: the raw digest alone is kept)
 */
public record StreamEnd(Outcome outcome, Instant firstByteAt, Instant endedAt, long size, String sha256,
                        byte[] captured, boolean truncated, long rawSize, String rawSha256, String timings,
                        byte[] rawCaptured) {
}
