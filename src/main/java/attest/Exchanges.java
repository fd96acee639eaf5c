package attest;

/**
 * Names of the exchange properties that carry a call's state from stage to stage.
 * Each stage sets its own property; the evidence stage reads them all.
 */
public final class Exchanges {
    /** The call's request id (String), always minted by the gateway. */
    public static final String REQUEST_ID = "attestRequestId";
    /** The caller's own X-Request-Id, well formed, kept as a correlation id only (String, or absent). */
    public static final String CORRELATION_ID = "attestCorrelationId";
    /** When the gateway received the call (Instant). */
    public static final String RECEIVED_AT = "attestReceivedAt";
    /** The evidence record of this call ({@link attest.evidence.EvidenceRecord}). */
    public static final String EVIDENCE = "attestEvidence";
    /** The raw request as received ({@link attest.http.InboundRequest}). */
    public static final String INBOUND = "attestInbound";
    /** The request body's JSON parse, kept with the body it came from ({@code RequestBodyJson.Cached}). */
    public static final String REQUEST_JSON = "attestRequestJson";
    /** The matched upstream and target path ({@link attest.ingress.UpstreamTarget}). */
    public static final String TARGET = "attestTarget";
    /** The caller's identity ({@link attest.identity.Identity}). */
    public static final String IDENTITY = "attestIdentity";
    /** Facts read from the request body ({@link attest.policy.RequestFacts}). */
    public static final String FACTS = "attestFacts";
    /** The policy decision ({@link attest.policy.Decision}). */
    public static final String DECISION = "attestDecision";
    /** The version (digest of the policy, masking and risk rule files) of the rules that decided the call. */
    public static final String RULES_VERSION = "attestRulesVersion";
    /** Headers to forward upstream after credential brokering ({@link attest.upstream.ForwardHeaders}). */
    public static final String FORWARD_HEADERS = "attestForwardHeaders";
    /** The upstream's answer ({@link attest.upstream.UpstreamResponse}). */
    public static final String UPSTREAM_RESPONSE = "attestUpstreamResponse";
    /** What masking did ({@link attest.masking.MaskingOutcome}). */
    public static final String MASKING = "attestMasking";
    /** The request body to forward when it differs from the one received (request masking; byte[]). */
    public static final String FORWARD_BODY = "attestForwardBody";
    /** The error that ended the call, if any ({@link attest.http.GatewayException}). */
    public static final String ERROR = "attestError";
    /** The response headers the gateway decided ({@link attest.http.ResponseHeaders}); never message headers. */
    public static final String RESPONSE_HEADERS = "attestResponseHeaders";
    /** Whether the call's evidence record is already in the store (Boolean). */
    public static final String EVIDENCE_WRITTEN = "attestEvidenceWritten";

    /** Read the upstream's answer whole, even an event stream (a held call executed later; Boolean). */
    public static final String BUFFER_RESPONSE = "attestBufferResponse";
    /** The held call ({@link attest.approval.Approval}). */
    public static final String APPROVAL = "attestApproval";
    /** What to tell the approval aggregator ({@link attest.approval.ApprovalSignal}). */
    public static final String APPROVAL_SIGNAL = "attestApprovalSignal";
    /** An approver's decision as submitted ({@link attest.approval.DecisionInput}). */
    public static final String APPROVAL_DECISION = "attestApprovalDecision";
    /** What became of a decision ({@link attest.approval.ApprovalStore.DecideResult}). */
    public static final String APPROVAL_DECIDED = "attestApprovalDecided";

    /** The credential the caller presented ({@link attest.identity.Credential}): a token or a virtual key. */
    public static final String CREDENTIAL = "attestCredential";
    /** The virtual key the call is made with, if any ({@link attest.keys.VirtualKey}). */
    public static final String KEY = "attestKey";
    /** The call's token usage as it becomes known ({@link attest.usage.UsageMeter}). */
    public static final String USAGE = "attestUsage";
    /** The gateway asked for the stream's usage chunk on the caller's behalf, and removes it (Boolean). */
    public static final String STRIP_USAGE = "attestStripUsage";
    /** The budgets and limits that the call's tokens and cost are charged to (List of {@link attest.usage.Limit}). */
    public static final String LIMITS = "attestLimits";

    private Exchanges() {
    }
}
