package attest.rules;

/** A rule file that cannot be used. The message names the file, the line and the problem. */
public class RuleFileException extends RuntimeException {
    public RuleFileException(String file, int line, String problem) {
        super(file + (line > 0 ? ":" + line : "") + ": " + problem);
    }
}
