package attest.evidence;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A record whose chain entry would not say what its row says, because the entry carries a member only under a
 * condition the record does not meet ({@link RecordView.Carry#TRUE}, {@link RecordView.Carry#CUT},
 * {@link RecordView.Carry#SET}): a {@code request_truncated} of false, a cut body's {@code stored_size} or
 * {@code stored_sha256} without a cut, token counts without a usage status. Committed, `attest verify --jdbc` reads
 * it as {@code record_mismatch} (TAMPERED) although nothing was tampered with. The writer refuses it at submit, as a
 * record with no canonical form: that write fails alone, nothing of it is stored, the other writes of its batch
 * commit and the chain verifies. A consistent record of each kind still commits and verifies. In each lane: a call's
 * terminal insert, a call's open insert, a refusal. Real PostgreSQL (embedded).
 */
class UnrepresentableRecordTest extends TamperBase {
    private static final AtomicInteger CHAINS = new AtomicInteger();
    private static final byte[] BODY = "{\"prompt\":\"hello\"}".getBytes(StandardCharsets.UTF_8);

    enum Lane { TERMINAL, OPEN, REFUSAL }

    record Shape(String name, boolean representable, Consumer<EvidenceRecord> make) {
        @Override
        public String toString() {
            return name;
        }
    }

    static final List<Shape> SHAPES = List.of(
            // refused: the entry leaves out what the row holds
            new Shape("request_truncated false", false, r -> r.setRequestTruncated(false)),
            new Shape("request_truncated false with stored size and digest", false, r -> {
                r.setRequestTruncated(false);
                r.setRequestStoredSize((long) BODY.length);
                r.setRequestStoredSha256(EvidenceAssembler.sha256(BODY));
            }),
            new Shape("stored size without a cut", false, r -> r.setRequestStoredSize(5L)),
            new Shape("stored digest without a cut", false, r -> r.setRequestStoredSha256("e".repeat(64))),
            new Shape("token counts without a usage status", false, r -> {
                TerminalBatchHostileTest.field(r, "usageStatus", null);
                TerminalBatchHostileTest.field(r, "promptTokens", 3L);
                TerminalBatchHostileTest.field(r, "completionTokens", 4L);
                TerminalBatchHostileTest.field(r, "totalTokens", 7L);
            }),
            new Shape("an estimate without a usage status", false, r -> usage(r, null, 9L)),
            // committed: the entry says what the row says
            new Shape("a cut body with its prefix's size and digest", true, r -> {
                byte[] prefix = java.util.Arrays.copyOf(BODY, 8);
                r.setRequestBody(prefix);
                r.setRequestTruncated(true);
                r.setRequestStoredSize((long) prefix.length);
                r.setRequestStoredSha256(EvidenceAssembler.sha256(prefix));
            }),
            new Shape("a cut body, its prefix unnamed", true, r -> r.setRequestTruncated(true)),
            new Shape("a usage status with counts", true, r -> { }),
            new Shape("a usage status alone", true, r -> usage(r, "unknown", null)),
            new Shape("no cut, no usage", true, r -> usage(r, null, null)));

    /** The usage: a status and an estimate, no reported counts. */
    static void usage(EvidenceRecord r, String status, Long estimate) {
        for (String f : new String[]{"promptTokens", "completionTokens", "totalTokens", "cachedTokens",
                "reasoningTokens"}) {
            TerminalBatchHostileTest.field(r, f, null);
        }
        TerminalBatchHostileTest.field(r, "usageStatus", status);
        TerminalBatchHostileTest.field(r, "estimatedTokens", estimate);
    }

    static Stream<Arguments> shapes() {
        return SHAPES.stream().flatMap(s -> Stream.of(Lane.values()).map(l -> Arguments.of(s, l)));
    }

    /** A consistent call record of the lane's kind: its body's digest and size, usage reported. */
    static EvidenceRecord record(String instance, Lane lane) {
        EvidenceRecord r = EvidenceEventGoldenTest.completed();
        r.setId(UUID.randomUUID());
        r.setInstanceId(instance);
        r.setApprovalId(null);
        r.setKeyId(null);
        r.setRequestBody(BODY);
        r.setResponseBody(null);
        TerminalBatchHostileTest.digests(r);
        if (lane == Lane.OPEN) {
            r.setState(EvidenceRecord.OPEN);
            r.setOutcome(null);
        } else if (lane == Lane.REFUSAL) {
            r.setOutcome("denied");
            r.setStatus(403);
        }
        return r;
    }

    CompletableFuture<Void> write(EvidenceRecord r, Lane lane) {
        return lane == Lane.REFUSAL ? writer.submitRefusal(r, null) : writer.submit(r, true, null);
    }

    @ParameterizedTest(name = "{0}, {1}")
    @MethodSource("shapes")
    void should_commit_only_a_record_whose_chain_entry_says_what_its_row_says(Shape shape, Lane lane)
            throws Exception {
        String chain = "unrepresentable-" + CHAINS.incrementAndGet();
        writer = TerminalBatchHostileTest.batching(chain, Duration.ofSeconds(30));
        EvidenceRecord before = record(chain, lane);
        EvidenceRecord shaped = record(chain, lane);
        shape.make().accept(shaped);
        EvidenceRecord after = record(chain, lane);

        // one batch (the writer lingers): the shaped write between two consistent ones
        CompletableFuture<Void> first = write(before, lane);
        CompletableFuture<Void> written = write(shaped, lane);
        CompletableFuture<Void> last = write(after, lane);
        Throwable refused = failure(written);
        assertThat(failure(first)).isNull();
        assertThat(failure(last)).isNull();

        // the chain verifies whatever was committed: a record its entry cannot say would read as tampered
        TerminalBatchHostileTest.assertChainsVerify(chain);
        String state = lane == Lane.OPEN ? EvidenceRecord.OPEN : EvidenceRecord.TERMINAL;
        assertThat(state(before.getId())).isEqualTo(state);
        assertThat(state(after.getId())).isEqualTo(state);
        if (shape.representable()) {
            assertThat(refused).isNull();
            assertThat(state(shaped.getId())).isEqualTo(state);
        } else {
            assertThat(refused).isInstanceOf(EvidenceUnavailableException.class)
                    .hasMessageStartingWith((lane == Lane.REFUSAL ? "refusal" : "evidence")
                            + " not representable in the chain");
            assertThat(state(shaped.getId())).as("nothing stored").isNull();
            assertThat(oneAsOwner("SELECT count(*) FROM evidence_chain WHERE subject_id = '" + shaped.getId() + "'"))
                    .as("nothing chained").isEqualTo("0");
        }
        assertThat(TerminalBatchHostileTest.entries(chain)).isEqualTo(shape.representable() ? 3 : 2);
    }
}
