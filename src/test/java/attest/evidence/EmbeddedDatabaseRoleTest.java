package attest.evidence;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The embedded PostgreSQL (the dev default) is no open door: it requires passwords, and the gateway's own
 * connections are not the superuser's, so even a RESET ROLE from an injected statement gains nothing (issue 10).
 */
class EmbeddedDatabaseRoleTest {
    @Test
    void should_require_passwords_and_connect_the_gateway_as_a_least_privileged_login() throws Exception {
        Path dir = Files.createTempDirectory("attest-role-pg").resolve("pgdata");
        String url;
        try (Database db = Database.open("", "", "", dir, 0, 2, Duration.ofSeconds(2))) {
            url = db.embedded().jdbcUrl();
            try (Connection c = db.dataSource().getConnection()) {
                assertThat(one(c, "SELECT session_user || '|' || current_user || '|' || "
                        + "(SELECT rolsuper FROM pg_roles WHERE rolname = session_user)"))
                        .isEqualTo("attest_gateway|attest_app|false");
                c.createStatement().execute("RESET ROLE");
                assertThat(one(c, "SELECT current_user")).isEqualTo("attest_gateway");
                for (String sql : new String[]{"ALTER TABLE evidence_chain DISABLE TRIGGER ALL",
                        "DROP TRIGGER evidence_chain_append_only ON evidence_chain", "CREATE TABLE stolen (x int)",
                        "SELECT count(*) FROM evidence_record", "ALTER ROLE attest_gateway SUPERUSER",
                        "COPY evidence_record TO '/tmp/x'"}) {
                    assertThatThrownBy(() -> c.createStatement().execute(sql)).as(sql).isInstanceOf(SQLException.class);
                }
            }
            // no trust: the superuser without its password, or with a wrong one, is refused
            assertThatThrownBy(() -> DriverManager.getConnection(url, "postgres", "").close())
                    .isInstanceOf(SQLException.class);
            assertThatThrownBy(() -> DriverManager.getConnection(url, "postgres", "wrong").close())
                    .isInstanceOf(SQLException.class);
            assertThatThrownBy(() -> DriverManager.getConnection(url, "attest_gateway", "").close())
                    .isInstanceOf(SQLException.class);
            assertThat(Files.readString(dir.resolve("pg_hba.conf"))).doesNotContainPattern("(?m)\\btrust\\s*$")
                    .containsPattern("(?m)^host\\s+all\\s+all\\s+127\\.0\\.0\\.1/32\\s+scram-sha-256\\s*$");
            assertThat(Files.getPosixFilePermissions(Database.ownerPasswordFile(dir))).containsExactlyInAnyOrder(
                    java.nio.file.attribute.PosixFilePermission.OWNER_READ,
                    java.nio.file.attribute.PosixFilePermission.OWNER_WRITE);
        }
        // a restart on the same data directory works with the stored passwords
        try (Database db = Database.open("", "", "", dir, 0, 2, Duration.ofSeconds(2));
             Connection c = db.dataSource().getConnection()) {
            assertThat(one(c, "SELECT session_user")).isEqualTo("attest_gateway");
            try (Connection owner = DriverManager.getConnection(db.embedded().jdbcUrl(),
                    "postgres", Files.readString(Database.ownerPasswordFile(dir)).strip())) {
                assertThat(one(owner, "SELECT current_user")).isEqualTo("postgres");
            }
        }
    }

    static String one(Connection c, String sql) throws SQLException {
        try (ResultSet rs = c.createStatement().executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }
}
