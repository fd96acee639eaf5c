package attest.evidence;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * What the stalled-store tests share: an embedded PostgreSQL per test class, a stall (the chain head's row held by
 * another transaction, so that every commit of that chain waits) and the owner's view of what was committed.
 */
abstract class StoreStall {
    static Path dir;
    static Database db;
    EvidenceWriter writer;
    Connection stall;

    @BeforeAll
    static void up() throws Exception {
        dir = Files.createTempDirectory("attest-stalled-pg");
        db = Database.open("", "", "", dir.resolve("data"), 0, 6, Duration.ofSeconds(2));
    }

    @AfterAll
    static void down() {
        db.close();
    }

    @AfterEach
    void close() throws Exception {
        if (stall != null && !stall.isClosed()) {
            stall.rollback();
            stall.close();
        }
        if (writer != null) {
            writer.close();
        }
    }

    /** Holds the chain head's row: every commit of that chain waits for it until {@link #resume}. */
    void stallTheStore(String chain) throws Exception {
        stall = db.dataSource().getConnection();
        stall.setAutoCommit(false);
        try (PreparedStatement ps = stall.prepareStatement(
                "SELECT 1 FROM evidence_chain_head WHERE chain_id = ? FOR UPDATE")) {
            ps.setString(1, chain);
            ps.executeQuery().close();
        }
    }

    void resume() throws Exception {
        stall.rollback();
        stall.close();
    }

    static Connection owner() throws Exception {
        return java.sql.DriverManager.getConnection(db.embedded().jdbcUrl(), "postgres",
                Files.readString(Database.ownerPasswordFile(dir.resolve("data"))).strip());
    }

    /** The chain's positions run from 1 to its head's size, without a gap. */
    static void assertContiguous(Connection c, String chain) throws Exception {
        try (PreparedStatement ps = c.prepareStatement("SELECT count(*), coalesce(min(position), 0), "
                + "coalesce(max(position), 0), (SELECT size FROM evidence_chain_head WHERE chain_id = ?) "
                + "FROM evidence_chain WHERE chain_id = ?")) {
            ps.setString(1, chain);
            ps.setString(2, chain);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                org.assertj.core.api.Assertions.assertThat(rs.getLong(2)).isEqualTo(1);
                org.assertj.core.api.Assertions.assertThat(rs.getLong(3)).as("positions contiguous")
                        .isEqualTo(rs.getLong(1));
                org.assertj.core.api.Assertions.assertThat(rs.getLong(4)).as("the head's size")
                        .isEqualTo(rs.getLong(1));
            }
        }
    }

    static String state(UUID id) throws Exception {
        try (Connection c = owner(); PreparedStatement ps = c.prepareStatement(
                "SELECT state FROM evidence_record WHERE id = ?")) {
            ps.setObject(1, id);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getString(1) : null;
            }
        }
    }

    /** The cause a write's commit failed with, or null when it was committed. */
    static Throwable failure(CompletableFuture<Void> f) {
        try {
            f.join();
            return null;
        } catch (CompletionException e) {
            return e.getCause();
        }
    }
}
