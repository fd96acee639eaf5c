package attest.evidence.chain;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * A witness file (docs/evidence-format.md, section 4.4): JSON lines, each either a Kafka event of schema
 * {@code attest.checkpoint} exactly as a consumer of the evidence topic printed it ({@code checkpoint}: the
 * signed object, {@code signature}: base64), or a line of an export's checkpoint file ({@code canonical}: base64,
 * {@code signature}: hex). Other lines (the topic's other events, blank lines) are skipped.
 */
public final class Witness {
    private static final ObjectMapper JSON = new ObjectMapper();

    private Witness() {
    }

    public static List<Verifier.Witnessed> read(Path file) {
        List<Verifier.Witnessed> out = new ArrayList<>();
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the witness " + file, e);
        }
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i).trim();
            if (line.isEmpty()) {
                continue;
            }
            String origin = "witness " + file.getFileName() + " line " + (i + 1);
            try {
                JsonNode n = JSON.readTree(line);
                if ("attest.checkpoint".equals(n.path("schema").asText()) && n.path("checkpoint").isObject()) {
                    // the event embeds the signed object as JSON: its canonical form is the signed bytes
                    byte[] canonical = Canonical.of(Canonical.parse(JSON.writeValueAsBytes(n.get("checkpoint"))));
                    out.add(new Verifier.Witnessed(origin, canonical,
                            Base64.getDecoder().decode(n.path("signature").asText()),
                            n.path("checkpoint").path("key_id").asText()));
                } else if (n.path("canonical").isTextual() && n.path("signature").isTextual()) {
                    byte[] canonical = Base64.getDecoder().decode(n.path("canonical").asText());
                    out.add(new Verifier.Witnessed(origin, canonical, LowerHex.orEmpty(n.path("signature").asText()),
                            n.path("key_id").asText()));
                }
            } catch (IOException | RuntimeException e) {
                // not a checkpoint line: skipped
            }
        }
        return out;
    }
}
