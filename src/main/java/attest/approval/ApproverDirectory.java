package attest.approval;

import java.util.List;

/** Finds the people who may approve a held call, to notify them. */
public interface ApproverDirectory {
    /** A person to notify. */
    record Approver(String subject, String username, String email) {
    }

    /** The enabled users with an email address who hold the role or are in the group (either may be null). */
    List<Approver> find(String role, String group);
}
