package attest.evidence.chain;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * verify compares each view with the migrations' text for it ({@link ReadPath}): a migration that creates or replaces a
 * view and is not in {@link ReadPath#VIEW_MIGRATIONS} would make every store it migrated read as tampered.
 */
class ReadPathMigrationsTest {
    static final Path DIR = Path.of("src/main/resources/db/migration");
    static final Pattern VIEW = Pattern.compile("CREATE\\s+(OR\\s+REPLACE\\s+)?VIEW\\s", Pattern.CASE_INSENSITIVE);

    static int version(String file) {
        return Integer.parseInt(file.substring(1, file.indexOf("__")));
    }

    @Test
    void should_list_every_migration_that_creates_a_view_in_order() throws Exception {
        List<String> withViews;
        try (Stream<Path> files = Files.list(DIR)) {
            withViews = files.map(p -> p.getFileName().toString()).filter(f -> f.matches("V\\d+__.*\\.sql"))
                    .filter(f -> {
                        try {
                            return VIEW.matcher(Files.readString(DIR.resolve(f)).replaceAll("--[^\\n]*", "")).find();
                        } catch (java.io.IOException e) {
                            throw new java.io.UncheckedIOException(e);
                        }
                    }).sorted(Comparator.comparingInt(ReadPathMigrationsTest::version)).toList();
        }
        assertThat(ReadPath.VIEW_MIGRATIONS).containsExactlyElementsOf(withViews);
    }

    @Test
    void should_read_the_report_views_and_verifys_own() {
        assertThat(ReadPath.expectedViews()).containsOnlyKeys("audit_access", "audit_denials", "audit_approvals",
                "audit_redactions", "audit_completeness", "usage_records", "usage_daily", "audit_record_columns",
                "audit_key_columns", "audit_refusal_summary_columns");
        assertThat(ReadPath.expectedViews().get("audit_record_columns")).as("V25's and V28's").hasSize(2);
        assertThat(ReadPath.expectedViews().values()).allSatisfy(bodies -> assertThat(bodies)
                .allSatisfy(b -> assertThat(b).startsWith("SELECT").doesNotContain(";")));
    }
}
