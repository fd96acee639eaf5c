package attest.masking;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * One text that a caller reconstructs from several JSON strings (the parts of a message, the tokens of an
 * answer): the pieces are joined, entities are found in the joined text, and each finding is mapped back
 * onto every piece that carries a part of it. The piece where the entity starts gets the replacement; the
 * other pieces lose their part of it. So an entity split over pieces is never released in part.
 */
final class TextPieces {
    /** One string in a JSON document: its holder (an object and a field, or an array and an index). */
    record Piece(JsonNode holder, String field, int index, String pointer, String value) {
        static Piece field(ObjectNode o, String field, String pointer) {
            return new Piece(o, field, -1, pointer, o.get(field).asText());
        }

        static Piece element(ArrayNode a, int index, String pointer) {
            return new Piece(a, null, index, pointer, a.get(index).asText());
        }

        void set(String v) {
            if (holder instanceof ObjectNode o) {
                o.set(field, TextNode.valueOf(v));
            } else {
                ((ArrayNode) holder).set(index, TextNode.valueOf(v));
            }
        }
    }

    private final List<Piece> pieces = new ArrayList<>();

    void add(Piece p) {
        pieces.add(p);
    }

    boolean isEmpty() {
        return pieces.isEmpty();
    }

    String joined() {
        StringBuilder b = new StringBuilder();
        for (Piece p : pieces) {
            b.append(p.value());
        }
        return b.toString();
    }

    /** Masks the joined text and writes each piece's share back. Returns whether anything was found. */
    boolean mask(Masker masker, Consumer<Redaction> report) {
        String text = joined();
        List<Finding> findings = masker.engine().scan(text);
        if (findings.isEmpty()) {
            return false;
        }
        int[] starts = new int[pieces.size() + 1];
        for (int i = 0; i < pieces.size(); i++) {
            starts[i + 1] = starts[i] + pieces.get(i).value().length();
        }
        String[] replacements = new String[findings.size()];
        for (int k = 0; k < findings.size(); k++) {
            Finding f = findings.get(k);
            replacements[k] = masker.replace(f, text.substring(f.start(), f.end()), pieces.get(pieceAt(starts,
                    f.start())).pointer(), report);
        }
        for (int i = 0; i < pieces.size(); i++) {
            int ps = starts[i];
            int pe = starts[i + 1];
            StringBuilder out = new StringBuilder();
            int at = ps;
            boolean changed = false;
            for (int k = 0; k < findings.size(); k++) {
                Finding f = findings.get(k);
                if (f.end() <= ps || f.start() >= pe) {
                    continue;
                }
                int s = Math.max(f.start(), ps);
                out.append(text, at, s);
                if (f.start() >= ps) {
                    out.append(replacements[k]);
                }
                at = Math.min(f.end(), pe);
                changed = true;
            }
            if (changed) {
                out.append(text, at, pe);
                pieces.get(i).set(out.toString());
            }
        }
        return true;
    }

    private static int pieceAt(int[] starts, int offset) {
        for (int i = 0; i < starts.length - 1; i++) {
            if (offset < starts[i + 1]) {
                return i;
            }
        }
        return starts.length - 2;
    }
}
