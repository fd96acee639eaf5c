package attest.masking;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * An entity spelt across positions in the alternatives of one rank: the rank-2 alternatives of successive positions
 * read "4111 1111 1111 1111" while the chosen tokens (the text) say something harmless. Each alternative was scanned
 * on its own, so each piece was clean; a client that shows the second choice at each position (a token-probability
 * view, a "what else could it have said" line) shows the card. The alternatives of each rank are now joined across
 * positions (their tokens, and their bytes, which may split a character), in the order listed and in the order of
 * their logprobs, and scanned; where an entity is found the logprobs go out null ({@code redact_field}). In a stream,
 * where the positions arrive one per chunk, the joined alternatives are held across chunks as a text is, and the
 * logprobs wait until no held tail of any rank can still become an entity.
 */
class LogprobsRankSpellingTest {
    static final Masker MASKER = new Masker(MaskingEngine.builtIn(), Map.of(), Action.REDACT,
            "k".repeat(32).getBytes(StandardCharsets.UTF_8));

    enum Shape { CHAT, REFUSAL, LEGACY, RESPONSES }

    /**
     * One position: the chosen token (the text) and its alternatives as listed, each a token, its bytes (null: the
     * token's own) and its logprob.
     */
    record Alt(String token, byte[] bytes, double logprob) {
    }

    record Position(String chosen, List<Alt> alternatives) {
    }

    /** The chosen tokens of a harmless answer, one per position, as many as needed. */
    static final String[] WORDS = {"The", " weather", " is", " fine", " today", ",", " and", " the", " sky", " is",
        " clear", ".", " We", " may", " go", " out", " for", " a", " walk", " later", " on", "!", " Ok", "."};

    /** Positions whose rank-2 alternatives are the pieces (rank 1 is the chosen token). */
    static List<Position> rank2(String... pieces) {
        List<Position> out = new ArrayList<>();
        for (int p = 0; p < pieces.length; p++) {
            String chosen = WORDS[p % WORDS.length];
            out.add(new Position(chosen, List.of(new Alt(chosen, null, -0.1), new Alt(pieces[p], null, -2.5),
                    new Alt(" maybe", null, -4.0))));
        }
        return out;
    }

    /** Positions whose rank-2 alternatives have a harmless token but bytes that are these pieces of {@code text}. */
    static List<Position> rank2Bytes(String text, int... cuts) {
        byte[] all = text.getBytes(StandardCharsets.UTF_8);
        List<Position> out = new ArrayList<>();
        int from = 0;
        for (int p = 0; p <= cuts.length; p++) {
            int to = p < cuts.length ? cuts[p] : all.length;
            String chosen = WORDS[p % WORDS.length];
            out.add(new Position(chosen, List.of(new Alt(chosen, null, -0.1),
                    new Alt("x", Arrays.copyOfRange(all, from, to), -2.5))));
            from = to;
        }
        return out;
    }

    /**
     * The pieces are second by logprob at every position, but listed second and third in turn: neither listed rank
     * spells the entity, the order of the logprobs does.
     */
    static List<Position> sortedRank2(String... pieces) {
        List<Position> out = new ArrayList<>();
        for (int p = 0; p < pieces.length; p++) {
            String chosen = WORDS[p % WORDS.length];
            Alt piece = new Alt(pieces[p], null, -1.0);
            Alt other = new Alt(" so", null, -3.0);
            out.add(new Position(chosen, p % 2 == 0 ? List.of(new Alt(chosen, null, -0.1), piece, other)
                    : List.of(new Alt(chosen, null, -0.1), other, piece)));
        }
        return out;
    }

    static Stream<Arguments> hostile() {
        List<Arguments> cases = new ArrayList<>();
        Map<String, List<Position>> spellings = new java.util.LinkedHashMap<>();
        spellings.put("card over 2 positions", rank2("4111 1111 ", "1111 1111"));
        spellings.put("card over 4 positions", rank2("4111", " 1111", " 1111", " 1111"));
        spellings.put("card, one digit a position", rank2("4", "1", "1", "1", " ", "1", "1", "1", "1", " ", "1",
                "1", "1", "1", " ", "1", "1", "1", "1"));
        spellings.put("card after a label", rank2(" card", " number", ":", " 5500", " 0000", " 0000", " 0004"));
        spellings.put("email over 3 positions", rank2(" jane.doe", "@exam", "ple.com"));
        spellings.put("IBAN over 5 positions", rank2(" DE89", " 3704", " 0044", " 0532", " 0130 00"));
        spellings.put("SSN with its label", rank2(" SSN", ":", " 536", "-90", "-4399"));
        spellings.put("API key over 3 positions", rank2(" sk-proj-", "Ab3dEf6hIj9kLm2nOp5q", "Rs8tUv1wXy4zAb7c"));
        spellings.put("card in the bytes", rank2Bytes("4111 1111 1111 1111", 5, 10, 15));
        spellings.put("full-width card in bytes split inside characters",
                rank2Bytes("\uFF14\uFF11\uFF11\uFF11 \uFF11\uFF11\uFF11\uFF11 \uFF11\uFF11\uFF11\uFF11 "
                        + "\uFF11\uFF11\uFF11\uFF11", 2, 7, 14, 20, 31, 44));
        spellings.put("email in the bytes, one byte a position", rank2Bytes("jane.doe@example.com", 1, 2, 3, 4, 5,
                6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19));
        spellings.put("card second by logprob, not by listing", sortedRank2("4111", " 1111", " 1111", " 1111"));
        for (Shape shape : Shape.values()) {
            for (Map.Entry<String, List<Position>> s : spellings.entrySet()) {
                if (shape == Shape.LEGACY && s.getKey().contains("bytes")) {
                    continue; // legacy completions carry no bytes
                }
                cases.add(Arguments.of(shape, s.getKey(), s.getValue()));
            }
        }
        return cases.stream();
    }

    static Stream<Arguments> benign() {
        List<Arguments> cases = new ArrayList<>();
        Map<String, List<Position>> spellings = new java.util.LinkedHashMap<>();
        spellings.put("words", rank2(" It", " was", " nice", " out", " there", " yesterday"));
        spellings.put("small numbers", rank2(" 1", ",", " 2", ",", " 3", " and", " 4"));
        spellings.put("a version and a year", rank2(" version", " 4", ".1", ".1", " of", " 2024"));
        spellings.put("an order id", rank2(" order", " #", "1234", "5"));
        spellings.put("accented words in bytes", rank2Bytes("Caf\u00e9 cr\u00e8me br\u00fbl\u00e9e", 4, 9, 17));
        for (Shape shape : Shape.values()) {
            for (Map.Entry<String, List<Position>> s : spellings.entrySet()) {
                if (shape == Shape.LEGACY && s.getKey().contains("bytes")) {
                    continue;
                }
                cases.add(Arguments.of(shape, s.getKey(), s.getValue()));
            }
        }
        return cases.stream();
    }

    // ---- shapes -------------------------------------------------------------------------------------------

    static ArrayNode bytes(byte[] b) {
        ArrayNode a = JsonMasker.JSON.createArrayNode();
        for (byte x : b) {
            a.add(x & 0xff);
        }
        return a;
    }

    static ObjectNode entry(Position p, boolean withBytes) {
        ObjectNode e = JsonMasker.JSON.createObjectNode();
        e.put("token", p.chosen()).put("logprob", -0.1);
        if (withBytes) {
            e.set("bytes", bytes(p.chosen().getBytes(StandardCharsets.UTF_8)));
        }
        ArrayNode top = e.putArray("top_logprobs");
        for (Alt a : p.alternatives()) {
            ObjectNode t = top.addObject().put("token", a.token()).put("logprob", a.logprob());
            if (withBytes) {
                t.set("bytes", bytes(a.bytes() != null ? a.bytes() : a.token().getBytes(StandardCharsets.UTF_8)));
            }
        }
        return e;
    }

    /** Legacy completions logprobs for these positions ({@code text_offset} from {@code offset}). */
    static ObjectNode legacy(List<Position> ps, int offset) {
        ObjectNode lp = JsonMasker.JSON.createObjectNode();
        ArrayNode tokens = lp.putArray("tokens");
        ArrayNode values = lp.putArray("token_logprobs");
        ArrayNode top = lp.putArray("top_logprobs");
        ArrayNode offsets = lp.putArray("text_offset");
        for (Position p : ps) {
            tokens.add(p.chosen());
            values.add(-0.1);
            ObjectNode alts = top.addObject();
            p.alternatives().forEach(a -> alts.put(a.token(), a.logprob()));
            offsets.add(offset);
            offset += p.chosen().length();
        }
        return lp;
    }

    static String text(List<Position> ps) {
        StringBuilder b = new StringBuilder();
        ps.forEach(p -> b.append(p.chosen()));
        return b.toString();
    }

    static ArrayNode entries(List<Position> ps, boolean withBytes) {
        ArrayNode a = JsonMasker.JSON.createArrayNode();
        ps.forEach(p -> a.add(entry(p, withBytes)));
        return a;
    }

    static String whole(Shape shape, List<Position> ps) {
        ObjectNode root = JsonMasker.JSON.createObjectNode();
        String text = text(ps);
        switch (shape) {
            case CHAT, REFUSAL -> {
                root.put("id", "c").put("object", "chat.completion");
                ObjectNode c = root.putArray("choices").addObject().put("index", 0);
                ObjectNode m = c.putObject("message").put("role", "assistant");
                ObjectNode lp = c.putObject("logprobs");
                if (shape == Shape.CHAT) {
                    m.put("content", text);
                    lp.set("content", entries(ps, true));
                    lp.putNull("refusal");
                } else {
                    m.putNull("content").put("refusal", text);
                    lp.putNull("content");
                    lp.set("refusal", entries(ps, true));
                }
                c.put("finish_reason", "stop");
            }
            case LEGACY -> {
                root.put("id", "c").put("object", "text_completion");
                ObjectNode c = root.putArray("choices").addObject().put("index", 0).put("text", text);
                c.set("logprobs", legacy(ps, 0));
                c.put("finish_reason", "stop");
            }
            case RESPONSES -> {
                root.put("id", "r").put("object", "response").put("status", "completed");
                ObjectNode item = root.putArray("output").addObject().put("type", "message").put("id", "m")
                        .put("role", "assistant");
                ObjectNode part = item.putArray("content").addObject().put("type", "output_text").put("text", text);
                part.putArray("annotations");
                part.set("logprobs", entries(ps, true));
            }
        }
        return root.toString();
    }

    /** A stream that carries one position a chunk, its token the chunk's text. */
    static String stream(Shape shape, List<Position> ps) {
        StringBuilder b = new StringBuilder();
        int offset = 0;
        for (int k = 0; k < ps.size(); k++) {
            Position p = ps.get(k);
            ObjectNode e = JsonMasker.JSON.createObjectNode();
            switch (shape) {
                case CHAT, REFUSAL -> {
                    e.put("id", "c").put("object", "chat.completion.chunk");
                    ObjectNode c = e.putArray("choices").addObject().put("index", 0);
                    ObjectNode lp = JsonMasker.JSON.createObjectNode();
                    if (shape == Shape.CHAT) {
                        c.putObject("delta").put("content", p.chosen());
                        lp.set("content", entries(List.of(p), true));
                        lp.putNull("refusal");
                    } else {
                        c.putObject("delta").put("refusal", p.chosen());
                        lp.putNull("content");
                        lp.set("refusal", entries(List.of(p), true));
                    }
                    c.set("logprobs", lp);
                    c.putNull("finish_reason");
                }
                case LEGACY -> {
                    e.put("id", "c").put("object", "text_completion");
                    ObjectNode c = e.putArray("choices").addObject().put("index", 0).put("text", p.chosen());
                    c.set("logprobs", legacy(List.of(p), offset));
                    c.putNull("finish_reason");
                }
                case RESPONSES -> {
                    e.put("type", "response.output_text.delta").put("sequence_number", k + 1).put("item_id", "m")
                            .put("output_index", 0).put("content_index", 0).put("delta", p.chosen());
                    e.set("logprobs", entries(List.of(p), true));
                }
            }
            offset += p.chosen().length();
            b.append("data: ").append(e).append("\n\n");
        }
        switch (shape) {
            case CHAT, REFUSAL, LEGACY -> b.append("data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\","
                    + "\"choices\":[{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":\"stop\"}]}\n\n"
                    + "data: [DONE]\n\n");
            case RESPONSES -> b.append("data: {\"type\":\"response.completed\",\"sequence_number\":")
                    .append(ps.size() + 1).append(",\"response\":{\"id\":\"r\",\"status\":\"completed\"}}\n\n");
        }
        return b.toString();
    }

    static String maskWhole(String body, List<Redaction> reports) {
        return new String(AnswerMasker.mask(body.getBytes(StandardCharsets.UTF_8), "application/json", MASKER,
                reports::add), StandardCharsets.UTF_8);
    }

    static String maskStream(String body, int size, List<Redaction> reports) {
        return LogprobsSpellingTest.run(body, size, reports);
    }

    // ---- what a client reads ------------------------------------------------------------------------------

    /** Every alternative a client reads in an answer (whole, or every event of a stream), in order. */
    static List<Alt> alternatives(String out) throws Exception {
        List<Alt> found = new ArrayList<>();
        if (out.startsWith("{")) {
            collect(JsonMasker.JSON.readTree(out), false, found);
            return found;
        }
        for (String line : out.split("\n")) {
            if (line.startsWith("data: {")) {
                collect(JsonMasker.JSON.readTree(line.substring(6)), false, found);
            }
        }
        return found;
    }

    private static void collect(JsonNode n, boolean inTop, List<Alt> found) {
        if (n instanceof ObjectNode o) {
            if (inTop && o.path("token").isTextual()) {
                byte[] b = null;
                if (o.path("bytes").isArray()) {
                    b = new byte[o.get("bytes").size()];
                    for (int k = 0; k < b.length; k++) {
                        b[k] = (byte) o.get("bytes").get(k).asInt();
                    }
                }
                found.add(new Alt(o.get("token").asText(), b, o.path("logprob").asDouble()));
                return;
            }
            o.fields().forEachRemaining(e -> {
                if (inTop && !e.getValue().isContainerNode()) {
                    found.add(new Alt(e.getKey(), null, e.getValue().asDouble())); // legacy: {" 4111": -2.5}
                } else {
                    collect(e.getValue(), inTop || e.getKey().equals("top_logprobs"), found);
                }
            });
        } else if (n instanceof ArrayNode a) {
            a.forEach(x -> collect(x, inTop, found));
        }
    }

    /** The alternatives' tokens and bytes, as a client reads them. */
    static List<String> tokens(List<Alt> alts) {
        return alts.stream().map(a -> a.token() + Arrays.toString(a.bytes())).toList();
    }

    /** Whether a client that reads the answer's alternatives sees any of the pieces that spell the entity. */
    static boolean seesAPiece(List<Alt> seen, List<Position> ps) {
        for (Position p : ps) {
            for (Alt a : p.alternatives()) {
                if (a.token().equals(p.chosen()) || a.token().equals(" maybe") || a.token().equals(" so")
                        || a.bytes() == null && a.token().matches("[A-Za-z :]*")) {
                    continue; // not a piece of the entity (a label before it may go out alone)
                }
                for (Alt s : seen) {
                    if (a.bytes() != null ? Arrays.equals(a.bytes(), s.bytes()) : a.token().equals(s.token())) {
                        return true;
                    }
                }
            }
        }
        return false;
    }

    @ParameterizedTest(name = "{0} whole: {1}")
    @MethodSource("hostile")
    void should_redact_alternatives_that_spell_an_entity_in_a_whole_answer(Shape shape, String what,
                                                                          List<Position> ps) throws Exception {
        String body = whole(shape, ps);
        assertThat(seesAPiece(alternatives(body), ps)).as("the test's own reading").isTrue();
        List<Redaction> reports = new ArrayList<>();
        String out = maskWhole(body, reports);
        assertThat(seesAPiece(alternatives(out), ps)).as(out).isFalse();
        assertThat(reports).as(what).extracting(Redaction::action).contains(JsonMasker.REDACT_FIELD);
        assertThat(out).as("the text is harmless and stays").contains(text(ps));
    }

    @ParameterizedTest(name = "{0} streamed: {1}")
    @MethodSource("hostile")
    void should_redact_alternatives_that_spell_an_entity_across_chunks(Shape shape, String what,
                                                                      List<Position> ps) throws Exception {
        String body = stream(shape, ps);
        assertThat(seesAPiece(alternatives(body), ps)).as("the test's own reading").isTrue();
        for (int size : new int[] {body.length(), 97, 13}) {
            List<Redaction> reports = new ArrayList<>();
            String out = maskStream(body, size, reports);
            assertThat(seesAPiece(alternatives(out), ps)).as(size + ": " + out).isFalse();
            assertThat(reports).as(what).extracting(Redaction::action).contains(JsonMasker.REDACT_FIELD);
        }
    }

    @org.junit.jupiter.api.Test
    void should_redact_a_streamed_position_with_more_alternatives_than_the_ranks_held() throws Exception {
        List<Alt> many = new ArrayList<>();
        for (int r = 0; r <= LogprobsRanks.MAX_RANKS; r++) {
            many.add(new Alt(" w" + (char) ('a' + r), null, -0.1 - r));
        }
        List<Position> ps = List.of(new Position("The", many), new Position(" weather", many.subList(0, 3)));
        List<Redaction> reports = new ArrayList<>();
        String out = maskStream(stream(Shape.CHAT, ps), 1 << 16, reports);
        assertThat(alternatives(out)).as(out).noneMatch(a -> a.token().equals(" w" + (char) ('a'
                + LogprobsRanks.MAX_RANKS)));
        assertThat(reports).extracting(Redaction::action).contains(JsonMasker.REDACT_FIELD);
    }

    @ParameterizedTest(name = "{0} whole: {1}")
    @MethodSource("benign")
    void should_keep_alternatives_that_spell_nothing_in_a_whole_answer(Shape shape, String what,
                                                                      List<Position> ps) throws Exception {
        String body = whole(shape, ps);
        List<Redaction> reports = new ArrayList<>();
        String out = maskWhole(body, reports);
        assertThat(reports).as(what).isEmpty();
        assertThat(tokens(alternatives(out))).as(out).isEqualTo(tokens(alternatives(body)));
    }

    @ParameterizedTest(name = "{0} streamed: {1}")
    @MethodSource("benign")
    void should_keep_alternatives_that_spell_nothing_across_chunks(Shape shape, String what,
                                                                  List<Position> ps) throws Exception {
        String body = stream(shape, ps);
        for (int size : new int[] {body.length(), 13}) {
            List<Redaction> reports = new ArrayList<>();
            String out = maskStream(body, size, reports);
            assertThat(reports).as(what).isEmpty();
            assertThat(tokens(alternatives(out))).as(out).isEqualTo(tokens(alternatives(body)));
        }
    }
}
