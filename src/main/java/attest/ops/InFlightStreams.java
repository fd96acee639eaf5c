package attest.ops;

import attest.upstream.StreamRelay;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/** The streams being relayed to callers right now (a stream outlives its exchange), for the drain. */
public final class InFlightStreams {
    private final Set<StreamRelay> open = ConcurrentHashMap.newKeySet();

    /** Tracks a stream until it has settled (evidence committed and the caller's response ended or cut). */
    public void track(StreamRelay relay) {
        open.add(relay);
        relay.settled().whenComplete((v, e) -> open.remove(relay));
    }

    public int size() {
        return open.size();
    }

    /** Cuts every open stream with this outcome; each one's evidence is still committed before it settles. */
    public int abortAll(attest.evidence.Outcome outcome) {
        int n = 0;
        for (StreamRelay r : open) {
            r.abort(outcome);
            n++;
        }
        return n;
    }
}
