package attest.upstream;

import java.time.Instant;

/**
 * How a relayed stream ended.
 *
 * @param outcome     completed, upstream_error, timeout or client_aborted
 * @param firstByteAt when the first byte arrived from the upstream (null if none)
 * @param endedAt     when the stream ended
 * @param size        bytes relayed
 * @param sha256      hex digest of all bytes relayed
 * @param captured    the bytes kept for evidence (up to the capture limit)
 * @param truncated   whether {@code captured} is shorter than the stream
 */
public record StreamEnd(String outcome, Instant firstByteAt, Instant endedAt, long size, String sha256,
                        byte[] captured, boolean truncated) {
}
