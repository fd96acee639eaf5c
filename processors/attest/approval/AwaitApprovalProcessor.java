package attest.approval;

import attest.Exchanges;
import attest.http.InboundRequest;
import org.apache.camel.AsyncCallback;
import org.apache.camel.Exchange;
import org.apache.camel.support.AsyncProcessorSupport;

import java.time.Duration;
import java.util.Locale;

/**
 * Waits, without holding a thread, for the held call to be settled, for up to the blocking window
 * ({@code attest.approval.window-ms}; none when the caller sent {@code Prefer: respond-async}), and sets
 * {@code attestApproval} to the call as stored then.
 */
public class AwaitApprovalProcessor extends AsyncProcessorSupport {
    private final ApprovalWaiters waiters;
    private final Duration window;

    public AwaitApprovalProcessor(ApprovalWaiters waiters, Duration window) {
        this.waiters = waiters;
        this.window = window;
    }

    @Override
    public boolean process(Exchange exchange, AsyncCallback callback) {
        Approval a = exchange.getProperty(Exchanges.APPROVAL, Approval.class);
        InboundRequest in = exchange.getProperty(Exchanges.INBOUND, InboundRequest.class);
        Duration wait = respondAsync(in) ? Duration.ZERO : window;
        // always resumed on another thread: the callback must never run before process() has returned false
        waiters.await(a.id(), wait).whenCompleteAsync((stored, error) -> {
            if (error != null) {
                exchange.setException(error);
            } else {
                exchange.setProperty(Exchanges.APPROVAL, stored);
            }
            callback.done(false);
        }, waiters.executor());
        return false;
    }

    static boolean respondAsync(InboundRequest in) {
        for (String v : in.headerValues("Prefer")) {
            for (String token : v.split(",")) {
                if (token.strip().toLowerCase(Locale.ROOT).equals("respond-async")) {
                    return true;
                }
            }
        }
        return false;
    }
}
