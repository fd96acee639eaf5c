package attest.ingress;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.assertj.core.api.Assertions.assertThat;

class RequestIdsTest {
    @ParameterizedTest(name = "{0} -> kept={1}")
    @CsvSource(nullValues = "-", textBlock = """
            req-12345678,                                 true
            0f9ee763-9ef8-4c9f-8723-bd8271913af4,         true
            trace:abc.def_12,                             true
            -,                                            false
            '',                                           false
            short,                                        false
            'has space in it',                            false
            'new\nline-injection',                        false
            <script>alert(1)</script>,                    false
            'caf\u00e9-1234567',                          false
            """)
    void should_keep_only_a_well_formed_caller_id_and_only_as_a_correlation_id(String offered, boolean kept) {
        assertThat(RequestIds.correlation(offered)).isEqualTo(kept ? offered : null);
    }

    @Test
    void should_refuse_an_overlong_correlation_id() {
        assertThat(RequestIds.correlation("a".repeat(129))).isNull();
        assertThat(RequestIds.correlation("a".repeat(128))).isEqualTo("a".repeat(128));
    }

    @Test
    void should_mint_a_new_id_every_time() {
        assertThat(RequestIds.mint()).matches("[0-9a-f-]{36}").isNotEqualTo(RequestIds.mint());
    }

    @Test
    void should_mint_version_4_uuids_that_never_repeat_across_threads() throws Exception {
        java.util.Set<String> ids = java.util.concurrent.ConcurrentHashMap.newKeySet();
        java.util.List<Thread> threads = new java.util.ArrayList<>();
        for (int t = 0; t < 8; t++) {
            Thread thread = new Thread(() -> {
                for (int i = 0; i < 20_000; i++) {
                    ids.add(RequestIds.mint());
                }
            });
            thread.start();
            threads.add(thread);
        }
        for (Thread t : threads) {
            t.join();
        }
        assertThat(ids).hasSize(160_000);
        for (String id : ids.stream().limit(1000).toList()) {
            java.util.UUID u = java.util.UUID.fromString(id);
            assertThat(u.version()).isEqualTo(4);
            assertThat(u.variant()).isEqualTo(2);
            assertThat(u.toString()).isEqualTo(id);
        }
        // every one of the 122 random bits takes both values
        long msbOr = 0, msbAnd = -1, lsbOr = 0, lsbAnd = -1;
        for (String id : ids) {
            java.util.UUID u = java.util.UUID.fromString(id);
            msbOr |= u.getMostSignificantBits();
            msbAnd &= u.getMostSignificantBits();
            lsbOr |= u.getLeastSignificantBits();
            lsbAnd &= u.getLeastSignificantBits();
        }
        assertThat(msbOr & ~0xF000L).isEqualTo(~0xF000L);
        assertThat(msbAnd & ~0xF000L).isZero();
        assertThat(lsbOr & 0x3FFF_FFFF_FFFF_FFFFL).isEqualTo(0x3FFF_FFFF_FFFF_FFFFL);
        assertThat(lsbAnd & 0x3FFF_FFFF_FFFF_FFFFL).isZero();
    }
}
