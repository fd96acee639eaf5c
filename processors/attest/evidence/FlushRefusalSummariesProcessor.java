package attest.evidence;

import org.apache.camel.Exchange;
import org.apache.camel.Processor;

/** Writes the refusal summaries of the windows that ended (see RefusalRecorder); sets nothing else. */
public class FlushRefusalSummariesProcessor implements Processor {
    private final RefusalRecorder recorder;

    public FlushRefusalSummariesProcessor(RefusalRecorder recorder) {
        this.recorder = recorder;
    }

    @Override
    public void process(Exchange exchange) {
        recorder.flush();
    }
}
