package attest.evidence;

import com.fasterxml.jackson.databind.ObjectMapper;

import java.time.Instant;
import java.util.UUID;

/**
 * The Kafka event for a terminal evidence record, schema {@code attest.evidence} version 2.
 * It carries the record's metadata, sizes and digests, never the bodies: the bodies stay in the
 * store, where access is controlled. See docs/evidence.md.
 * <p>Version 2: the digest of the raw (unmasked) answer is keyed, {@code response.raw_hmac_sha256} =
 * HMAC-SHA-256 under a key derived from the master key over the chain's {@code raw_sha256} (lower-case hex, as
 * ASCII), instead of the plain {@code raw_sha256}: a topic reader cannot confirm a guessed short answer, a key
 * holder can still tie the event to the chain. Without a key the field is null (never the plain digest).
 */
public final class EvidenceEvents {
    public static final String SCHEMA = "attest.evidence";
    public static final int SCHEMA_VERSION = 2;
    /** The label of the key, derived from the master key, that keys raw-answer digests in events. */
    public static final String DIGEST_KEY_LABEL = "attest.event-digest.v1";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static volatile javax.crypto.spec.SecretKeySpec digestKey;

    /** Sets the key of {@code response.raw_hmac_sha256} (once, at start-up). */
    public static void keyDigestsWith(byte[] key) {
        digestKey = new javax.crypto.spec.SecretKeySpec(key, "HmacSHA256");
    }

    /** HMAC-SHA-256 (lower-case hex) of a hex digest under the events' digest key; null without either. */
    public static String keyed(String hexDigest) {
        javax.crypto.spec.SecretKeySpec k = digestKey;
        if (hexDigest == null || k == null) {
            return null;
        }
        try {
            KeyedMac m = MAC.get();
            if (m.key != k) { // this thread's Mac, initialised again only when the key was set anew
                m.mac.init(k);
                m.key = k;
            }
            return java.util.HexFormat.of().formatHex(m.mac.doFinal(hexDigest.getBytes(
                    java.nio.charset.StandardCharsets.US_ASCII)));
        } catch (java.security.GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A thread's HMAC-SHA-256 and the key it holds (looking the algorithm up per event was a cost per call). */
    private static final class KeyedMac {
        final javax.crypto.Mac mac;
        javax.crypto.spec.SecretKeySpec key;

        KeyedMac() {
            try {
                mac = javax.crypto.Mac.getInstance("HmacSHA256");
            } catch (java.security.NoSuchAlgorithmException e) {
                throw new IllegalStateException(e);
            }
        }
    }

    private static final ThreadLocal<KeyedMac> MAC = ThreadLocal.withInitial(KeyedMac::new);

    private EvidenceEvents() {
    }

    public static OutboxEvent terminal(EvidenceRecord r, String topic, Instant now) {
        return terminal(r, topic, now, attest.RandomIds.uuid()); // an event id grants nothing (RandomIds)
    }

    /**
     * The event with a given id (the golden test pins the payload with a fixed one): its {@code record} is
     * {@link RecordView}'s, the one view of the record its chain entry is rendered from too. Written straight to text
     * with a generator: building the Jackson tree and writing it out again cost about 5% of a call's CPU. The masking
     * report alone is still read into a tree, so that what it holds is written as before (or "unreadable").
     * {@code EvidenceEventsWriterTest} checks it against the tree it was written from before.
     */
    static OutboxEvent terminal(EvidenceRecord r, String topic, Instant now, UUID eventId) {
        String payload = envelope(SCHEMA, SCHEMA_VERSION, eventId, "call." + r.getOutcome(), now,
                g -> RecordView.writeEvent(r, g));
        return new OutboxEvent(eventId, topic, r.getId().toString(), payload, now);
    }

    /**
     * The record's masking report as the event holds it: null without a rule set, else the report read (a missing
     * node when empty) or {@code "unreadable"}.
     */
    static com.fasterxml.jackson.databind.JsonNode report(EvidenceRecord r) {
        if (r.getMaskingRuleSet() == null) {
            return null;
        }
        try {
            return JSON.readTree(r.getMaskingReport());
        } catch (com.fasterxml.jackson.core.JsonProcessingException unreadable) {
            return com.fasterxml.jackson.databind.node.TextNode.valueOf("unreadable");
        }
    }

    /**
     * Makes a record terminal ({@link EvidenceRecord#terminate}: its outcome, end, duration and state) and builds its
     * terminal event from the record as it then is: for every write that ends a call (a buffered answer, once
     * {@link EvidenceAssembler#settle} filled the record; a stream's end; a withheld answer; a held call denied,
     * cancelled or expired; a crash or a lost replica), so that none of them can publish an event of the record
     * before its end. A refusal is filled and then made terminal by {@link EvidenceAssembler#refusal}, and its event
     * is built after ({@link #refusal}).
     *
     * @param endedAt the record's end ({@code completed_at}); {@code now} is the event's time
     */
    public static OutboxEvent terminate(EvidenceRecord r, Outcome outcome, Instant endedAt, String topic, Instant now) {
        r.terminate(outcome, endedAt);
        return terminal(r, topic, now);
    }

    /**
     * A refusal's event (a request refused by the HTTP layer, {@link RefusalRecorder}): the call's terminal event
     * ({@code call.<outcome>}) with only what a refusal has: no identity (but the subject of a verified caller refused
     * for too many denials, and the {@code key_id} of a virtual key so refused), decision (its event type says it), response or nulls (the small body's digest, when
     * read, is in the record and the chain); it ended when received.
     */
    public static OutboxEvent refusal(EvidenceRecord r, String topic, Instant now) {
        return refusal(r, topic, now, attest.RandomIds.uuid()); // an event id grants nothing (RandomIds)
    }

    /**
     * The refusal's event with a given id, written straight to text with a generator from {@link RecordView} (the
     * view the call's event and chain entry come from, its refusal column) in the order of {@link #terminal}'s,
     * leaving out what a refusal has not and every null, empty list and empty object (recursively, as
     * {@link Compact#withoutNulls} does for the chain), the verified subject (and key) last. It was the terminal event
     * read back into a Jackson tree, cut and written out again; {@code RefusalEventWriterTest} checks the two give the
     * same text.
     */
    static OutboxEvent refusal(EvidenceRecord r, String topic, Instant now, UUID eventId) {
        String payload = envelope(SCHEMA, SCHEMA_VERSION, eventId, "call." + r.getOutcome(), now,
                g -> RecordView.writeRefusal(r, g));
        return new OutboxEvent(eventId, topic, r.getId().toString(), payload, now);
    }

    /** An event's own members, written into its object after the envelope's. */
    @FunctionalInterface
    public interface Body {
        void write(com.fasterxml.jackson.core.JsonGenerator g) throws java.io.IOException;
    }

    /**
     * The envelope of every event on the evidence topic, whatever its schema: {@code schema}, {@code schema_version},
     * {@code event_id}, {@code event_type} and {@code emitted_at} ({@link Instant#toString()}), then the kind's own
     * members. The kinds differ only by their body: a call's terminal event ({@link #terminal}, and the refusal's
     * compact form of it), a refusal summary, an approval step, an auditor's read, a key's change. Returns the
     * payload; {@code EvidenceKindsGoldenTest} pins what each kind's comes to.
     */
    public static String envelope(String schema, int version, UUID eventId, String type, Instant now, Body body) {
        return envelope(schema, version, eventId, g -> {
            text(g, "event_type", type);
            text(g, "emitted_at", attest.text.IsoInstant.of(now));
            body.write(g);
        });
    }

    /**
     * The envelope's first members ({@code schema}, {@code schema_version}, {@code event_id}) and the body: for the
     * checkpoint's event ({@code attest.checkpoint} v1), which has neither a type nor a time of its own.
     */
    public static String envelope(String schema, int version, UUID eventId, Body body) {
        java.io.StringWriter out = new java.io.StringWriter(1024);
        try (com.fasterxml.jackson.core.JsonGenerator g = JSON.getFactory().createGenerator(out)) {
            g.writeStartObject();
            g.writeStringField("schema", schema);
            g.writeNumberField("schema_version", version);
            g.writeStringField("event_id", eventId.toString());
            body.write(g);
            g.writeEndObject();
        } catch (java.io.IOException e) { // a StringWriter does not fail
            throw new java.io.UncheckedIOException(e);
        }
        return out.toString();
    }

    private static void text(com.fasterxml.jackson.core.JsonGenerator g, String name, String v) throws java.io.IOException {
        if (v == null) {
            g.writeNullField(name);
        } else {
            g.writeStringField(name, v);
        }
    }
}
