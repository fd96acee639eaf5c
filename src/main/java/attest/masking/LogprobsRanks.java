package attest.masking;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.function.Consumer;

/**
 * The alternatives of logprobs ({@code top_logprobs}) read per rank across positions. A client that shows the
 * second choice at every position (a token-probability view) reads the rank-2 alternatives of successive positions as
 * one text: a hostile upstream spelt "4111 1111 1111 1111" there, one clean piece a position, while the chosen tokens
 * said something harmless. The alternatives of each rank are joined across the positions of one list (chat
 * {@code content} or {@code refusal}, a Responses {@code logprobs} array, legacy completions' {@code top_logprobs}
 * maps), their tokens and, apart, their {@code bytes} (which may split a character between positions); in the order
 * the upstream lists them and in the order of their logprobs (a client may sort them). Each such text is scanned as
 * the text of an answer is.
 */
final class LogprobsRanks {
    /**
     * In a stream, the ranks held per text (listed and by logprob, tokens and bytes apart): a position with more
     * alternatives than this has its logprobs redacted. OpenAI allows up to 20 alternatives a position.
     */
    static final int MAX_RANKS = 20;
    /** The texts held per rank: two orders (as listed, by logprob) times two readings (tokens, bytes). */
    static final int SLOTS = 4 * MAX_RANKS;

    private LogprobsRanks() {
    }

    /** One alternative: its token (or a legacy map's key), its bytes (null for none) and its logprob (NaN for none). */
    record Alt(String token, byte[] bytes, double logprob) {
    }

    /**
     * Every list of positions in a logprobs value, each position as its alternatives in the upstream's order: arrays of
     * entries that carry {@code top_logprobs} (chat, refusal, Responses), and legacy completions' {@code top_logprobs}
     * (one map a position).
     */
    static List<List<List<Alt>>> lists(JsonNode logprobs) {
        List<List<List<Alt>>> out = new ArrayList<>();
        lists(logprobs, out);
        return out;
    }

    private static void lists(JsonNode n, List<List<List<Alt>>> out) {
        if (n instanceof ArrayNode a) {
            List<List<Alt>> positions = new ArrayList<>();
            boolean entries = false;
            for (JsonNode e : a) {
                if (e instanceof ObjectNode o && o.has("token") && o.path("top_logprobs").isArray()) {
                    positions.add(alternatives(o.get("top_logprobs")));
                    entries = true;
                }
            }
            if (entries) {
                out.add(positions);
            }
            a.forEach(e -> lists(e, out));
        } else if (n instanceof ObjectNode o) {
            boolean entry = o.has("token");
            o.fields().forEachRemaining(e -> {
                if (e.getKey().equals("top_logprobs") && !entry && e.getValue() instanceof ArrayNode legacy) {
                    List<List<Alt>> positions = new ArrayList<>();
                    legacy.forEach(p -> positions.add(alternatives(p)));
                    out.add(positions);
                } else if (!e.getKey().equals("top_logprobs")) {
                    lists(e.getValue(), out);
                }
            });
        }
    }

    /**
     * One position's alternatives: an array of {@code {"token", "bytes", "logprob"}} objects (or strings), or a legacy
     * map from token to logprob.
     */
    static List<Alt> alternatives(JsonNode position) {
        List<Alt> out = new ArrayList<>();
        if (position instanceof ArrayNode a) {
            for (JsonNode x : a) {
                if (x instanceof ObjectNode o && o.path("token").isTextual()) {
                    out.add(new Alt(o.get("token").asText(), bytes(o.get("bytes")), logprob(o.get("logprob"))));
                } else if (x instanceof ObjectNode o) {
                    o.fields().forEachRemaining(e -> out.add(new Alt(e.getKey(), null, logprob(e.getValue()))));
                } else if (x.isTextual()) {
                    out.add(new Alt(x.asText(), null, Double.NaN));
                }
            }
        } else if (position instanceof ObjectNode o) {
            o.fields().forEachRemaining(e -> out.add(new Alt(e.getKey(), null, logprob(e.getValue()))));
        }
        return out;
    }

    private static double logprob(JsonNode v) {
        return v != null && v.isNumber() ? v.asDouble() : Double.NaN;
    }

    /** An array of byte values (null for anything else; a value past a byte is read as a client's Uint8Array does). */
    static byte[] bytes(JsonNode v) {
        if (v == null || !v.isArray()) {
            return null;
        }
        byte[] b = new byte[v.size()];
        for (int k = 0; k < b.length; k++) {
            b[k] = (byte) (v.get(k).asInt() & 0xff);
        }
        return b;
    }

    /** A position's alternatives by logprob, highest first (those without one last, in the upstream's order). */
    static List<Alt> byLogprob(List<Alt> listed) {
        List<Alt> sorted = new ArrayList<>(listed);
        sorted.sort(Comparator.comparingDouble((Alt a) -> Double.isNaN(a.logprob()) ? Double.NEGATIVE_INFINITY
                : a.logprob()).reversed());
        return sorted;
    }

    /**
     * The texts of a list of positions per rank: for each order (as listed, by logprob) and each rank, the tokens
     * joined and the bytes joined and decoded. Linear in the alternatives.
     */
    static List<String> texts(List<List<Alt>> positions) {
        int ranks = 0;
        for (List<Alt> p : positions) {
            ranks = Math.max(ranks, p.size());
        }
        StringBuilder[] tokens = new StringBuilder[2 * ranks];
        ByteArrayOutputStream[] bytes = new ByteArrayOutputStream[2 * ranks];
        for (List<Alt> p : positions) {
            List<List<Alt>> orders = List.of(p, byLogprob(p));
            for (int o = 0; o < 2; o++) {
                List<Alt> alts = orders.get(o);
                for (int r = 0; r < alts.size(); r++) {
                    int s = o * ranks + r;
                    if (tokens[s] == null) {
                        tokens[s] = new StringBuilder();
                        bytes[s] = new ByteArrayOutputStream();
                    }
                    tokens[s].append(alts.get(r).token());
                    if (alts.get(r).bytes() != null) {
                        bytes[s].writeBytes(alts.get(r).bytes());
                    }
                }
            }
        }
        java.util.LinkedHashSet<String> out = new java.util.LinkedHashSet<>();
        for (int s = 0; s < tokens.length; s++) {
            if (tokens[s] != null) {
                out.add(tokens[s].toString());
                out.add(bytes[s].toString(StandardCharsets.UTF_8));
            }
        }
        out.remove("");
        return new ArrayList<>(out);
    }

    /** The texts of every rank of every list of positions in a logprobs value ({@link #texts}). */
    static List<String> rankTexts(JsonNode logprobs) {
        List<String> out = new ArrayList<>();
        for (List<List<Alt>> positions : lists(logprobs)) {
            out.addAll(texts(positions));
        }
        return out;
    }

    /**
     * The alternatives of one streamed text's logprobs, joined per rank across the chunks they come in and held as a
     * text is ({@link StreamingTextMasker}): a rank's tail that may still become an entity is held, and the logprobs of
     * the positions in it wait, so a piece of an entity spelt across chunks never goes out before the entity is found.
     * A finding in a rank's text marks the range it touched; logprobs entries whose alternatives lie in it are taken as
     * touched (null when released, reported {@code redact_field} at {@code pointer}); a block rule refuses the answer.
     */
    static final class Tails {
        private final Masker masker;
        private final String pointer;
        private final Consumer<Redaction> report;
        private final Rank[] slots = new Rank[SLOTS];

        Tails(Masker masker, String pointer, Consumer<Redaction> report) {
            this.masker = masker;
            this.pointer = pointer;
            this.report = report;
        }

        /** One rank's text in one order and one reading. */
        private final class Rank {
            final StreamingTextMasker text;
            long pushed;
            boolean touchedNow;
            final List<long[]> touched = new ArrayList<>();
            /** The bytes of a character not yet whole (the bytes reading). */
            byte[] carry = new byte[0];

            Rank() {
                text = new StreamingTextMasker(masker, pointer, r -> {
                    if (r.entityType().equals(StreamShape.ENTITY)) {
                        report.accept(r);
                        return;
                    }
                    touchedNow = true;
                    report.accept(new Redaction(r.entityType(), JsonMasker.REDACT_FIELD, pointer, r.detector()));
                });
            }

            long released() {
                return pushed - text.held();
            }

            void push(String piece, boolean finish) {
                long before = released();
                touchedNow = false;
                pushed += piece.length();
                text.push(piece);
                if (finish) {
                    text.finish();
                }
                if (touchedNow) {
                    touched.add(new long[] {Math.max(0, before - Detector.CONTEXT_WINDOW), released()});
                }
            }
        }

        /** Where one chunk's alternatives lie in each slot's text: [start, end) per slot. */
        record Span(long[] start, long[] end, boolean tooMany) {
        }

        /**
         * Adds the alternatives of a chunk's logprobs entries (every list of positions in them, in order); returns where
         * they lie. A position with more than {@link #MAX_RANKS} alternatives is {@code tooMany} (its logprobs are
         * redacted).
         */
        Span push(JsonNode entries) {
            long[] start = new long[SLOTS];
            boolean tooMany = false;
            for (int s = 0; s < SLOTS; s++) {
                start[s] = slots[s] == null ? 0 : slots[s].pushed;
            }
            for (List<List<Alt>> positions : lists(entries)) {
                for (List<Alt> p : positions) {
                    tooMany |= p.size() > MAX_RANKS;
                    List<List<Alt>> orders = List.of(p, byLogprob(p));
                    for (int o = 0; o < 2; o++) {
                        List<Alt> alts = orders.get(o);
                        for (int r = 0; r < Math.min(MAX_RANKS, alts.size()); r++) {
                            Alt a = alts.get(r);
                            slot(o, r, 0).push(a.token(), false);
                            if (a.bytes() != null) {
                                Rank b = slot(o, r, 1);
                                b.push(decode(b, a.bytes()), false);
                            }
                        }
                    }
                }
            }
            long[] end = new long[SLOTS];
            for (int s = 0; s < SLOTS; s++) {
                end[s] = slots[s] == null ? 0 : slots[s].pushed;
            }
            return new Span(start, end, tooMany);
        }

        private Rank slot(int order, int rank, int reading) {
            int s = (order * MAX_RANKS + rank) * 2 + reading;
            if (slots[s] == null) {
                slots[s] = new Rank();
            }
            return slots[s];
        }

        /** The whole characters of a rank's bytes so far; the bytes of a character cut short wait in its carry. */
        private static String decode(Rank rank, byte[] more) {
            byte[] all = Arrays.copyOf(rank.carry, rank.carry.length + more.length);
            System.arraycopy(more, 0, all, rank.carry.length, more.length);
            int whole = all.length;
            // a lead byte within the last three bytes whose character needs more bytes than there are
            for (int k = all.length - 1; k >= Math.max(0, all.length - 3); k--) {
                int b = all[k] & 0xff;
                if (b >= 0xC0) {
                    int need = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : 2;
                    if (all.length - k < need) {
                        whole = k;
                    }
                    break;
                }
                if (b < 0x80) {
                    break;
                }
            }
            rank.carry = Arrays.copyOfRange(all, whole, all.length);
            return new String(all, 0, whole, StandardCharsets.UTF_8);
        }

        /** Whether every slot has released its text up to the end of these alternatives. */
        boolean released(Span span) {
            for (int s = 0; s < SLOTS; s++) {
                if (slots[s] != null && span.end()[s] > span.start()[s] && slots[s].released() < span.end()[s]) {
                    return false;
                }
            }
            return true;
        }

        /** Whether a finding in any slot's text touched these alternatives. */
        boolean touched(Span span) {
            if (span.tooMany()) {
                return true;
            }
            for (int s = 0; s < SLOTS; s++) {
                if (slots[s] == null || span.end()[s] <= span.start()[s]) {
                    continue;
                }
                for (long[] t : slots[s].touched) {
                    if (t[0] < span.end()[s] && span.start()[s] < t[1]) {
                        return true;
                    }
                }
            }
            return false;
        }

        /** Forgets the findings that end before {@code first} (per slot): no waiting alternatives lie in them. */
        void forget(long[] first) {
            for (int s = 0; s < SLOTS; s++) {
                if (slots[s] != null) {
                    long f = first == null ? slots[s].pushed : first[s];
                    slots[s].touched.removeIf(t -> t[1] <= f);
                }
            }
        }

        /** The text ends: every rank's held tail is scanned and released (bytes cut short decode as U+FFFD). */
        void finish() {
            for (Rank r : slots) {
                if (r != null) {
                    String rest = r.carry.length == 0 ? "" : new String(r.carry, StandardCharsets.UTF_8);
                    r.carry = new byte[0];
                    r.push(rest, true);
                }
            }
        }

        /** What the ranks hold (characters held back and kept as context, and the carries). */
        long held() {
            long n = 0;
            for (Rank r : slots) {
                if (r != null) {
                    n += r.text.held() + r.text.contextLength() + r.carry.length + 16L * r.touched.size() + 64;
                }
            }
            return n;
        }
    }
}
