package attest.evidence;

import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.Table;
import jakarta.persistence.Transient;

import java.time.Instant;
import java.util.UUID;

/**
 * One call, as evidence: who asked what, what came back, what was decided, and how it ended.
 * A call that is forwarded is first written {@code open} (before anything reaches the upstream), then
 * completed; a crash leaves a visible open record, never nothing. Bodies are stored as received
 * (credentials travel in headers, which are not stored) and as delivered.
 */
@Entity
@Table(name = "evidence_record")
public class EvidenceRecord {
    public static final String OPEN = "open";
    public static final String TERMINAL = "terminal";

    @Id
    private UUID id;
    @Column(name = "request_id", nullable = false)
    private String requestId;
    @Column(name = "instance_id", nullable = false)
    private String instanceId;
    @Column(nullable = false)
    private String state;
    private String outcome;

    @Column(name = "received_at", nullable = false)
    private Instant receivedAt;
    @Column(name = "forwarded_at")
    private Instant forwardedAt;
    @Column(name = "first_byte_at")
    private Instant firstByteAt;
    @Column(name = "completed_at")
    private Instant completedAt;
    @Column(name = "duration_ms")
    private Long durationMs;

    @Column(name = "source_address")
    private String sourceAddress;
    private String subject;
    private String username;
    @Column(name = "principal_type")
    private String principalType;
    @Column(name = "client_id")
    private String clientId;
    @Column(name = "realm_roles")
    private String[] realmRoles;
    @Column(name = "groups")
    private String[] groups;
    @Column(name = "token_id")
    private String tokenId;
    private String issuer;
    @Column(name = "auth_error")
    private String authError;

    private String method;
    private String path;
    private String upstream;
    private String model;
    private Boolean streamed;

    private String decision;
    @Column(name = "rule_id")
    private String ruleId;
    /** The version of the rules (SHA-256 of the policy, masking and risk files) in force when the policy decided. */
    @Column(name = "rules_version")
    private String rulesVersion;
    private String reason;
    private Integer status;
    @Column(name = "upstream_status")
    private Integer upstreamStatus;
    @Column(name = "error_code")
    private String errorCode;

    @Column(name = "request_body")
    private byte[] requestBody;
    @Column(name = "request_size")
    private Long requestSize;
    @Column(name = "request_sha256")
    private String requestSha256;
    /**
     * True when {@code request_body} holds only the first {@code request_stored_size} bytes of the body (a refused
     * call keeps a bounded prefix, V26); null otherwise. {@code request_size} and {@code request_sha256} are always
     * the whole body's.
     */
    @Column(name = "request_truncated")
    private Boolean requestTruncated;
    @Column(name = "request_stored_size")
    private Long requestStoredSize;
    @Column(name = "request_stored_sha256")
    private String requestStoredSha256;
    @Column(name = "response_body")
    private byte[] responseBody;
    @Column(name = "response_size")
    private Long responseSize;
    @Column(name = "response_sha256")
    private String responseSha256;
    @Column(name = "response_truncated")
    private Boolean responseTruncated;
    @Column(name = "masking_rule_set")
    private String maskingRuleSet;
    @Column(name = "masking_exempt")
    private Boolean maskingExempt;
    @Column(name = "masking_report")
    private String maskingReport;
    @Column(name = "raw_response_size")
    private Long rawResponseSize;
    @Column(name = "raw_response_sha256")
    private String rawResponseSha256;
    /** The approval that held this call, if it was held (issue: approvals). */
    @Column(name = "approval_id")
    private UUID approvalId;
    /** The data key the payloads are encrypted with (null: not encrypted). */
    /** The upstream's answer before masking, when masking changed or refused it (buffered answers). */
    @Column(name = "raw_response_body")
    private byte[] rawResponseBody;
    @Column(name = "forwarded_sha256")
    private String forwardedSha256;

    /** The caller's X-Request-Id, a correlation id only (the record's request id is the gateway's). */
    @Column(name = "correlation_id")
    private String correlationId;
    @Column(name = "stream_timings")
    private String streamTimings;
    @Column(name = "payload_key_id")
    private String payloadKeyId;
    /** The virtual key the call was made with (its owner is the subject). */
    @Column(name = "key_id")
    private UUID keyId;
    /** {@code reported} or {@code unknown} for a call that reached an upstream; null otherwise. */
    @Column(name = "usage_status")
    private String usageStatus;
    @Column(name = "prompt_tokens")
    private Long promptTokens;
    @Column(name = "completion_tokens")
    private Long completionTokens;
    @Column(name = "total_tokens")
    private Long totalTokens;
    @Column(name = "cached_tokens")
    private Long cachedTokens;
    @Column(name = "reasoning_tokens")
    private Long reasoningTokens;
    /** The gateway's byte-based estimate when the upstream reported no usage (budgets only). */
    @Column(name = "estimated_tokens")
    private Long estimatedTokens;
    /** The payloads were destroyed by retention (the digests remain, in the chain). */
    @Column(name = "payload_purged")
    private boolean payloadPurged;

    /**
     * The request body as the writer stored it, sealed (not a column): a later write of this record whose request
     * body is still that same array stores those bytes again under the same data key, and leaves the column as it
     * is (the terminal update does not write the request body a second time). Copied by {@link #snapshot()}.
     */
    @Transient
    private Sealed sealedRequest;

    /**
     * A request body ({@code plain}, compared by identity) of record {@code id} and the bytes it was stored as under
     * {@code keyId} (the ciphertext is bound to the record's id).
     */
    record Sealed(UUID id, byte[] plain, byte[] sealed, String keyId) {
    }

    /**
     * Set by the writer on the write it hands to its commit: the record's request body is the one already stored
     * (same data key, same bytes), so the update leaves the column as it is. Not a column, not copied.
     */
    @Transient
    private boolean requestStored;

    public EvidenceRecord() {
    }

    /** A copy for the writer, so that the request thread may go on changing its own. */
    /**
     * A copy for the writer, so that the request thread may go on changing its own. Its text has no NUL character
     * (U+0000, which a caller can send in a JSON string, a model name say, and which PostgreSQL refuses in text):
     * each is written as U+FFFD, in the row and in its chain entry alike, so that the call's evidence is kept.
     */
    public EvidenceRecord snapshot() {
        EvidenceRecord c = new EvidenceRecord();
        c.id = id;
        c.requestId = attest.text.NulFree.of(requestId);
        c.approvalId = approvalId;
        c.payloadKeyId = attest.text.NulFree.of(payloadKeyId);
        c.keyId = keyId;
        c.usageStatus = attest.text.NulFree.of(usageStatus);
        c.promptTokens = promptTokens;
        c.completionTokens = completionTokens;
        c.totalTokens = totalTokens;
        c.cachedTokens = cachedTokens;
        c.reasoningTokens = reasoningTokens;
        c.estimatedTokens = estimatedTokens;
        c.streamTimings = attest.text.NulFree.of(streamTimings);
        c.forwardedSha256 = attest.text.NulFree.of(forwardedSha256);
        c.correlationId = attest.text.NulFree.of(correlationId);
        c.rawResponseBody = rawResponseBody;
        c.payloadPurged = payloadPurged;
        c.instanceId = attest.text.NulFree.of(instanceId);
        c.state = attest.text.NulFree.of(state);
        c.outcome = attest.text.NulFree.of(outcome);
        c.receivedAt = receivedAt;
        c.forwardedAt = forwardedAt;
        c.firstByteAt = firstByteAt;
        c.completedAt = completedAt;
        c.durationMs = durationMs;
        c.sourceAddress = attest.text.NulFree.of(sourceAddress);
        c.subject = attest.text.NulFree.of(subject);
        c.username = attest.text.NulFree.of(username);
        c.principalType = attest.text.NulFree.of(principalType);
        c.clientId = attest.text.NulFree.of(clientId);
        c.realmRoles = texts(realmRoles);
        c.groups = texts(groups);
        c.tokenId = attest.text.NulFree.of(tokenId);
        c.issuer = attest.text.NulFree.of(issuer);
        c.authError = attest.text.NulFree.of(authError);
        c.method = attest.text.NulFree.of(method);
        c.path = attest.text.NulFree.of(path);
        c.upstream = attest.text.NulFree.of(upstream);
        c.model = attest.text.NulFree.of(model);
        c.streamed = streamed;
        c.decision = attest.text.NulFree.of(decision);
        c.ruleId = attest.text.NulFree.of(ruleId);
        c.rulesVersion = attest.text.NulFree.of(rulesVersion);
        c.reason = attest.text.NulFree.of(reason);
        c.status = status;
        c.upstreamStatus = upstreamStatus;
        c.errorCode = attest.text.NulFree.of(errorCode);
        c.requestBody = requestBody;
        c.requestSize = requestSize;
        c.requestSha256 = attest.text.NulFree.of(requestSha256);
        c.requestTruncated = requestTruncated;
        c.requestStoredSize = requestStoredSize;
        c.requestStoredSha256 = attest.text.NulFree.of(requestStoredSha256);
        c.responseBody = responseBody;
        c.responseSize = responseSize;
        c.responseSha256 = attest.text.NulFree.of(responseSha256);
        c.responseTruncated = responseTruncated;
        c.maskingRuleSet = attest.text.NulFree.of(maskingRuleSet);
        c.maskingExempt = maskingExempt;
        c.maskingReport = attest.text.NulFree.of(maskingReport);
        c.rawResponseSize = rawResponseSize;
        c.rawResponseSha256 = attest.text.NulFree.of(rawResponseSha256);
        c.sealedRequest = sealedRequest;
        return c;
    }

    private static String[] texts(String[] a) {
        if (a == null) {
            return null;
        }
        String[] c = a.clone();
        for (int i = 0; i < c.length; i++) {
            c[i] = attest.text.NulFree.of(c[i]);
        }
        return c;
    }

    // accessors -------------------------------------------------------------------------------------------

    Sealed sealedRequest() { return sealedRequest; }
    void sealedRequest(Sealed sealed) { this.sealedRequest = sealed; }
    boolean requestStored() { return requestStored; }
    void requestStored(boolean stored) { this.requestStored = stored; }

    public UUID getId() { return id; }
    public void setId(UUID id) { this.id = id; }

    /** The id as text, made once per id (the call's logging context reads it around every step). */
    public String idText() {
        UUID i = id;
        if (i == null) {
            return null;
        }
        IdText t = idText;
        if (t == null || t.id() != i) {
            t = new IdText(i, i.toString());
            idText = t;
        }
        return t.text();
    }

    /** An id and its text, kept together so that a changed id is never named by the text of the one before. */
    private record IdText(UUID id, String text) {
    }

    @Transient
    private transient IdText idText;
    public String getRequestId() { return requestId; }
    public void setRequestId(String requestId) { this.requestId = requestId; }
    public String getInstanceId() { return instanceId; }
    public void setInstanceId(String instanceId) { this.instanceId = instanceId; }
    public String getState() { return state; }
    public void setState(String state) { this.state = state; }

    /**
     * Makes the record terminal: the one place where a record's outcome, end, duration and state are set together
     * (a call's end, a refusal, a held call closed, a call aborted by a crash or a drain).
     *
     * @param outcome how it ended, stored as its {@link Outcome#wire()}
     */
    public void terminate(Outcome outcome, Instant at) {
        terminate(outcome, at, receivedAt == null || at == null ? null
                : java.time.Duration.between(receivedAt, at).toMillis());
    }

    /**
     * Makes the record terminal with a duration of its own: null for a request refused by the HTTP layer, whose
     * answer was the gateway's fixed error body.
     */
    public void terminate(Outcome outcome, Instant at, Long durationMs) {
        this.outcome = outcome == null ? null : outcome.wire();
        this.completedAt = at;
        this.durationMs = durationMs;
        this.state = TERMINAL;
    }
    public String getOutcome() { return outcome; }
    public void setOutcome(String outcome) { this.outcome = outcome; }
    public Instant getReceivedAt() { return receivedAt; }
    public void setReceivedAt(Instant receivedAt) { this.receivedAt = receivedAt; }
    public Instant getForwardedAt() { return forwardedAt; }
    public void setForwardedAt(Instant forwardedAt) { this.forwardedAt = forwardedAt; }
    public Instant getFirstByteAt() { return firstByteAt; }
    public void setFirstByteAt(Instant firstByteAt) { this.firstByteAt = firstByteAt; }
    public Instant getCompletedAt() { return completedAt; }
    public void setCompletedAt(Instant completedAt) { this.completedAt = completedAt; }
    public Long getDurationMs() { return durationMs; }
    public void setDurationMs(Long durationMs) { this.durationMs = durationMs; }
    public String getSourceAddress() { return sourceAddress; }
    public void setSourceAddress(String sourceAddress) { this.sourceAddress = sourceAddress; }
    public String getSubject() { return subject; }
    public void setSubject(String subject) { this.subject = subject; }
    public String getUsername() { return username; }
    public void setUsername(String username) { this.username = username; }
    public String getPrincipalType() { return principalType; }
    public void setPrincipalType(String principalType) { this.principalType = principalType; }
    public String getClientId() { return clientId; }
    public void setClientId(String clientId) { this.clientId = clientId; }
    public String[] getRealmRoles() { return realmRoles; }
    public void setRealmRoles(String[] realmRoles) { this.realmRoles = realmRoles; }
    public String[] getGroups() { return groups; }
    public void setGroups(String[] groups) { this.groups = groups; }
    public String getTokenId() { return tokenId; }
    public void setTokenId(String tokenId) { this.tokenId = tokenId; }
    public String getIssuer() { return issuer; }
    public void setIssuer(String issuer) { this.issuer = issuer; }
    public String getAuthError() { return authError; }
    public void setAuthError(String authError) { this.authError = authError; }
    public String getMethod() { return method; }
    public void setMethod(String method) { this.method = method; }
    public String getPath() { return path; }
    public void setPath(String path) { this.path = path; }
    public String getUpstream() { return upstream; }
    public void setUpstream(String upstream) { this.upstream = upstream; }
    public String getModel() { return model; }
    public void setModel(String model) { this.model = model; }
    public Boolean getStreamed() { return streamed; }
    public void setStreamed(Boolean streamed) { this.streamed = streamed; }
    public String getDecision() { return decision; }
    public void setDecision(String decision) { this.decision = decision; }
    public String getRuleId() { return ruleId; }
    public String getRulesVersion() { return rulesVersion; }
    public void setRulesVersion(String rulesVersion) { this.rulesVersion = rulesVersion; }
    public void setRuleId(String ruleId) { this.ruleId = ruleId; }
    public String getReason() { return reason; }
    public void setReason(String reason) { this.reason = reason; }
    public Integer getStatus() { return status; }
    public void setStatus(Integer status) { this.status = status; }
    public Integer getUpstreamStatus() { return upstreamStatus; }
    public void setUpstreamStatus(Integer upstreamStatus) { this.upstreamStatus = upstreamStatus; }
    public String getErrorCode() { return errorCode; }
    public void setErrorCode(String errorCode) { this.errorCode = errorCode; }
    public byte[] getRequestBody() { return requestBody; }
    public void setRequestBody(byte[] requestBody) { this.requestBody = requestBody; }
    public Long getRequestSize() { return requestSize; }
    public void setRequestSize(Long requestSize) { this.requestSize = requestSize; }
    public String getRequestSha256() { return requestSha256; }
    public void setRequestSha256(String requestSha256) { this.requestSha256 = requestSha256; }
    public Boolean getRequestTruncated() { return requestTruncated; }
    public void setRequestTruncated(Boolean requestTruncated) { this.requestTruncated = requestTruncated; }
    public Long getRequestStoredSize() { return requestStoredSize; }
    public void setRequestStoredSize(Long requestStoredSize) { this.requestStoredSize = requestStoredSize; }
    public String getRequestStoredSha256() { return requestStoredSha256; }
    public void setRequestStoredSha256(String requestStoredSha256) { this.requestStoredSha256 = requestStoredSha256; }
    public byte[] getResponseBody() { return responseBody; }
    public void setResponseBody(byte[] responseBody) { this.responseBody = responseBody; }
    public Long getResponseSize() { return responseSize; }
    public void setResponseSize(Long responseSize) { this.responseSize = responseSize; }
    public String getResponseSha256() { return responseSha256; }
    public void setResponseSha256(String responseSha256) { this.responseSha256 = responseSha256; }
    public Boolean getResponseTruncated() { return responseTruncated; }
    public void setResponseTruncated(Boolean responseTruncated) { this.responseTruncated = responseTruncated; }
    public String getMaskingRuleSet() { return maskingRuleSet; }
    public void setMaskingRuleSet(String maskingRuleSet) { this.maskingRuleSet = maskingRuleSet; }
    public Boolean getMaskingExempt() { return maskingExempt; }
    public void setMaskingExempt(Boolean maskingExempt) { this.maskingExempt = maskingExempt; }
    public byte[] getRawResponseBody() { return rawResponseBody; }
    public void setRawResponseBody(byte[] rawResponseBody) { this.rawResponseBody = rawResponseBody; }
    public String getForwardedSha256() { return forwardedSha256; }
    public void setForwardedSha256(String forwardedSha256) { this.forwardedSha256 = forwardedSha256; }
    public String getCorrelationId() { return correlationId; }
    public void setCorrelationId(String correlationId) { this.correlationId = correlationId; }
    public String getStreamTimings() { return streamTimings; }
    public void setStreamTimings(String streamTimings) { this.streamTimings = streamTimings; }
    public String getPayloadKeyId() { return payloadKeyId; }
    public void setPayloadKeyId(String payloadKeyId) { this.payloadKeyId = payloadKeyId; }
    public boolean isPayloadPurged() { return payloadPurged; }
    public void setPayloadPurged(boolean payloadPurged) { this.payloadPurged = payloadPurged; }
    public UUID getKeyId() { return keyId; }
    public void setKeyId(UUID keyId) { this.keyId = keyId; }
    public String getUsageStatus() { return usageStatus; }
    public Long getPromptTokens() { return promptTokens; }
    public Long getCompletionTokens() { return completionTokens; }
    public Long getTotalTokens() { return totalTokens; }
    public Long getCachedTokens() { return cachedTokens; }
    public Long getReasoningTokens() { return reasoningTokens; }
    public Long getEstimatedTokens() { return estimatedTokens; }

    /** Copies what is known of the call's token usage (the meter's status, reported counts, or the estimate). */
    public void setUsage(attest.usage.UsageMeter meter) {
        attest.usage.TokenUsage u = meter.reported();
        this.usageStatus = meter.status();
        this.promptTokens = u == null ? null : u.prompt();
        this.completionTokens = u == null ? null : u.completion();
        this.totalTokens = u == null ? null : u.total();
        this.cachedTokens = u == null ? null : u.cached();
        this.reasoningTokens = u == null ? null : u.reasoning();
        this.estimatedTokens = meter.estimate();
    }

    /** The usage as evidence shows it (chain entry and Kafka event): status and counts, nulls kept. */
    public java.util.Map<String, Object> usageMap() {
        java.util.Map<String, Object> usage = new java.util.LinkedHashMap<>();
        usage.put("status", usageStatus);
        usage.put("prompt_tokens", promptTokens);
        usage.put("completion_tokens", completionTokens);
        usage.put("total_tokens", totalTokens);
        usage.put("cached_tokens", cachedTokens);
        usage.put("reasoning_tokens", reasoningTokens);
        usage.put("estimated_tokens", estimatedTokens);
        return usage;
    }

    public UUID getApprovalId() { return approvalId; }
    public void setApprovalId(UUID approvalId) { this.approvalId = approvalId; }
    public String getMaskingReport() { return maskingReport; }
    public void setMaskingReport(String maskingReport) { this.maskingReport = maskingReport; }
    public Long getRawResponseSize() { return rawResponseSize; }
    public void setRawResponseSize(Long rawResponseSize) { this.rawResponseSize = rawResponseSize; }
    public String getRawResponseSha256() { return rawResponseSha256; }
    public void setRawResponseSha256(String rawResponseSha256) { this.rawResponseSha256 = rawResponseSha256; }
}
