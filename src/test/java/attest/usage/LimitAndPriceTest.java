package attest.usage;

import attest.rules.YamlTree;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LimitAndPriceTest {
    @Test
    void should_window_minutes_days_and_months_in_utc() {
        Instant at = Instant.parse("2026-02-28T23:59:30.500Z");
        Limit m = new Limit("n", "r", "s", Limit.REQUESTS, "minute", 1);
        Limit d = new Limit("n", "r", "s", Limit.TOKENS, "day", 1);
        Limit mo = new Limit("n", "r", "s", Limit.COST, "month", 1);
        assertEquals(Instant.parse("2026-02-28T23:59:00Z"), m.windowStart(at));
        assertEquals(Instant.parse("2026-03-01T00:00:00Z"), m.windowEnd(at));
        assertEquals(Instant.parse("2026-02-28T00:00:00Z"), d.windowStart(at));
        assertEquals(Instant.parse("2026-03-01T00:00:00Z"), d.windowEnd(at));
        assertEquals(Instant.parse("2026-02-01T00:00:00Z"), mo.windowStart(at));
        assertEquals(Instant.parse("2026-03-01T00:00:00Z"), mo.windowEnd(at));
        assertThrows(IllegalArgumentException.class, () -> new Limit("n", "r", "s", "bytes", "day", 1));
        assertThrows(IllegalArgumentException.class, () -> new Limit("n", "r", "s", Limit.TOKENS, "week", 1));
    }

    @Test
    void should_price_tokens_per_million_exactly_and_round_up(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("prices.yaml");
        Files.writeString(f, """
                currency: EUR
                models:
                  - model: small-*
                    input: 0.15
                    output: 0.60
                    cached-input: 0.075
                  - model: '*'
                    input: 3
                    output: 15
                """);
        Prices p = Prices.load(f);
        assertEquals("EUR", p.currency());
        // 1000 prompt (200 cached) + 500 completion: 800 x 0.15 + 200 x 0.075 + 500 x 0.60 = 435 micro
        assertEquals(435L, p.costMicros("small-1", 1000, 500, 200));
        // one token at 0.15 per million is 0.15 micro: rounded up to 1
        assertEquals(1L, p.costMicros("small-1", 1, 0, 0));
        assertEquals(3_000_000L + 15_000_000L, p.costMicros("other", 1_000_000, 1_000_000, 0));
        assertEquals("18.000000", Prices.amount(18_000_000L));
        assertNull(Prices.none().costMicros("small-1", 1, 1, 0));
    }

    @Test
    void should_refuse_a_price_file_that_is_wrong(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("prices.yaml");
        Files.writeString(f, "models:\n  - model: a\n    input: -1\n    output: 1\n");
        assertThrows(RuntimeException.class, () -> Prices.load(f));
        Files.writeString(f, "models:\n  - model: a\n    input: 1\n");
        assertThrows(RuntimeException.class, () -> Prices.load(f));
        Files.writeString(f, "models:\n  - model: a\n    input: 1\n    output: 1\n    surprise: 2\n");
        assertThrows(RuntimeException.class, () -> Prices.load(f));
    }

    @Test
    void should_give_each_user_their_own_counter_and_a_group_one_for_all(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("limits.yaml");
        Files.writeString(f, """
                limits:
                  - id: each-user
                    users: ["*"]
                    requests-per-minute: 5
                  - id: team
                    groups: [/team-a]
                    budget: {tokens: 100, period: day}
                """);
        LimitsFile lf = LimitsFile.load(f);
        var alice = new attest.identity.Identity("sub-a", "alice", "user", "cli", java.util.List.of("inference-user"),
                java.util.List.of("/team-a"), null, null, null);
        var bob = new attest.identity.Identity("sub-b", "bob", "user", "cli", java.util.List.of(), java.util.List.of(),
                null, null, null);
        var la = lf.limitsFor(alice);
        var lb = lf.limitsFor(bob);
        assertEquals(2, la.size());
        assertEquals(1, lb.size());
        assertTrue(la.stream().anyMatch(l -> l.scope().equals("group:team:/team-a") && l.max() == 100));
        assertTrue(!la.get(0).scope().equals(lb.get(0).scope()), "each user counts on their own");
        Files.writeString(f, "limits:\n  - id: x\n    users: ['*']\n");
        assertThrows(RuntimeException.class, () -> LimitsFile.load(f), "an entry that limits nothing");
        Files.writeString(f, "limits:\n  - id: x\n    users: ['*']\n    budget: {tokens: 1, cost: 1, period: day}\n");
        assertThrows(RuntimeException.class, () -> LimitsFile.load(f), "tokens and cost at once");
        Files.writeString(f, "limits:\n  - id: x\n    users: ['*']\n    requests-per-minute: 0\n");
        assertThrows(RuntimeException.class, () -> LimitsFile.load(f), "zero is not a limit");
        YamlTree.parse("x", "a: 1"); // the parser is the shared one
    }
}
