package attest.upstream;

/** The asynchronous upstream call over the other transport, {@code attest.upstream.client=jdk}. */
class CallUpstreamProcessorJdkTest extends CallUpstreamProcessorTest {
    @Override
    UpstreamClient.Kind kind() {
        return UpstreamClient.Kind.JDK;
    }
}
