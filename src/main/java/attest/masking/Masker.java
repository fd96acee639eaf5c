package attest.masking;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

/** Applies the configured action to each finding in a piece of text. */
public final class Masker {
    private final MaskingEngine engine;
    private final Map<String, Action> actions;
    private final Action defaultAction;
    private final byte[] hmacKey;
    private final int streamLimit;

    /**
     * The most a stream masker holds at a time, by default ({@code attest.masking.max-held-bytes}): an SSE event or an
     * NDJSON line until its end, the events waiting behind a finishing chunk, and the text (with its logprobs) held back
     * across events. Past it the stream is cut ({@code MALFORMED_STREAM}/{@code cut}, {@code masking_failed}).
     */
    public static final int DEFAULT_STREAM_LIMIT = 4 * 1024 * 1024;

    public Masker(MaskingEngine engine, Map<String, Action> actions, Action defaultAction, byte[] hmacKey) {
        this(engine, Map.copyOf(actions), defaultAction, hmacKey.clone(), DEFAULT_STREAM_LIMIT);
    }

    private Masker(MaskingEngine engine, Map<String, Action> actions, Action defaultAction, byte[] hmacKey,
                   int streamLimit) {
        this.engine = engine;
        this.actions = actions;
        this.defaultAction = defaultAction;
        this.hmacKey = hmacKey;
        this.streamLimit = streamLimit;
    }

    /** This masker with another stream limit (bytes; see {@link #DEFAULT_STREAM_LIMIT}). */
    public Masker withStreamLimit(int bytes) {
        if (bytes <= 0) {
            throw new IllegalArgumentException("the stream limit must be positive: " + bytes);
        }
        return bytes == streamLimit ? this : new Masker(engine, actions, defaultAction, hmacKey, bytes);
    }

    /** The most a stream masker may hold at a time, in bytes (UTF-8; held text counted in characters). */
    public int streamLimit() {
        return streamLimit;
    }

    public MaskingEngine engine() {
        return engine;
    }

    /** The action configured for an entity type. */
    /** Whether any entity type's rule, or the default, is {@code block}. */
    boolean blocks() {
        return defaultAction == Action.BLOCK || actions.containsValue(Action.BLOCK);
    }

    Action action(String entityType) {
        return actions.getOrDefault(entityType, defaultAction);
    }

    /** The masked text. Each redaction is reported through {@code report} with its location. */
    public String mask(String text, String location, java.util.function.Consumer<Redaction> report) {
        List<Finding> findings = engine.scan(text);
        if (findings.isEmpty()) {
            return text;
        }
        StringBuilder out = new StringBuilder(text.length());
        int at = 0;
        for (Finding f : findings) {
            out.append(text, at, f.start());
            out.append(replace(f, text.substring(f.start(), f.end()), location, report));
            at = f.end();
        }
        out.append(text, at, text.length());
        return out.toString();
    }

    /** The replacement for one finding, reported; throws {@link BlockedException} for a block rule. */
    public String replace(Finding f, String value, String location, java.util.function.Consumer<Redaction> report) {
        Action action = actions.getOrDefault(f.entityType(), defaultAction);
        if (action == Action.BLOCK) {
            throw new BlockedException(f.entityType());
        }
        report.accept(new Redaction(f.entityType(), action.name().toLowerCase(java.util.Locale.ROOT),
                location == null ? "offset:" + f.start() : location, f.detector()));
        String replacement = replacement(f.entityType(), value, action);
        return f.acrossBreak() ? replacement + lineBreaks(value) : replacement;
    }

    /** The line breaks in a value found across one (kept in the masked text: the lines stay lines). */
    static String lineBreaks(String value) {
        StringBuilder b = new StringBuilder(2);
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (SoftBreaks.lineBreak(c)) {
                b.append(c);
            }
        }
        return b.toString();
    }

    String replacement(String type, String value, Action action) {
        return switch (action) {
            case REDACT -> "[" + type + "]";
            case HASH -> "[" + type + ":" + hmac(canonical(value)) + "]";
            case PARTIAL -> "[" + type + " ****" + lastFour(value) + "]";
            case BLOCK -> throw new BlockedException(type);
        };
    }

    private static String canonical(String value) {
        return Normalized.of(value).text().replaceAll("[\\s\\-().]", "").toLowerCase(java.util.Locale.ROOT);
    }

    private static String lastFour(String value) {
        String alnum = Normalized.of(value).text().replaceAll("[^A-Za-z0-9]", "");
        return alnum.length() <= 4 ? "" : alnum.substring(alnum.length() - 4);
    }

    private String hmac(String value) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(hmacKey, "HmacSHA256"));
            return HexFormat.of().formatHex(mac.doFinal(value.getBytes(StandardCharsets.UTF_8))).substring(0, 16);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }
}
