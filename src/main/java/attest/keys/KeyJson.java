package attest.keys;

import attest.http.GatewayException;
import attest.usage.Budget;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.math.BigDecimal;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The JSON of keys: the body of {@code POST /keys}, read strictly (unknown or repeated fields, wrong types and
 * values out of range are 400: a caller cannot name an owner, and an absent limit is never "unlimited"), and a
 * key's budget and limits as stored.
 */
public final class KeyJson {
    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(com.fasterxml.jackson.databind.DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
            .enable(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
    private static final Set<String> FIELDS = Set.of("name", "expires_in", "upstreams", "models", "budget", "limits");
    private static final Pattern NAME = Pattern.compile("[\\p{L}\\p{N} ._:/@()\\-]{1,100}");
    private static final Pattern MODEL_GLOB = Pattern.compile("[A-Za-z0-9._:/*@\\-]{1,200}");
    private static final long MAX_COUNT = 1_000_000_000_000L;

    /** A {@code POST /keys} body, checked. */
    public record Request(String name, Duration expiresIn, List<String> upstreams, List<String> models, Budget budget) {
    }

    private KeyJson() {
    }

    public static Request read(byte[] body, Duration defaultLifetime, Duration maxLifetime) {
        JsonNode root;
        try {
            root = JSON.readTree(body == null ? new byte[0] : body);
        } catch (JsonProcessingException e) {
            throw GatewayException.badRequest("the body is not valid JSON (or repeats a field)");
        } catch (java.io.IOException e) {
            throw GatewayException.badRequest("the body could not be read");
        }
        if (root == null || !root.isObject()) {
            throw GatewayException.badRequest("the body is a JSON object");
        }
        for (Iterator<String> it = root.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!FIELDS.contains(f)) {
                throw GatewayException.badRequest("unknown field '" + safe(f) + "' (allowed: budget, expires_in, limits, "
                        + "models, name, upstreams); a key is always the caller's own");
            }
        }
        JsonNode n = root.get("name");
        if (n == null || !n.isTextual() || !NAME.matcher(n.asText()).matches()) {
            throw GatewayException.badRequest("name is 1 to 100 letters, digits, spaces or . _ : / @ ( ) -");
        }
        Duration lifetime = defaultLifetime;
        JsonNode e = root.get("expires_in");
        if (e != null && !e.isNull()) {
            if (!e.isTextual()) {
                throw GatewayException.badRequest("expires_in is an ISO-8601 duration such as P30D or PT12H");
            }
            try {
                lifetime = Duration.parse(e.asText());
            } catch (DateTimeParseException x) {
                lifetime = period(e.asText());
            }
            if (lifetime.isNegative() || lifetime.isZero()) {
                throw GatewayException.badRequest("expires_in is positive");
            }
            if (lifetime.compareTo(maxLifetime) > 0) {
                throw GatewayException.badRequest("expires_in is at most " + maxLifetime.toDays() + " days");
            }
        }
        List<String> upstreams = strings(root.get("upstreams"), "upstreams", Pattern.compile("[a-z0-9][a-z0-9\\-_]{0,62}"));
        List<String> models = strings(root.get("models"), "models", MODEL_GLOB);
        Budget budget = budget(root.get("budget"), root.get("limits"));
        return new Request(n.asText(), lifetime, upstreams, models, budget);
    }

    private static Duration period(String s) {
        // P1M / P1Y are periods, not durations: only days and time are accepted, never a guess
        if (s.matches("P\\d{1,4}D")) {
            return Duration.ofDays(Long.parseLong(s.substring(1, s.length() - 1)));
        }
        throw GatewayException.badRequest("expires_in is an ISO-8601 duration such as P30D or PT12H");
    }

    private static List<String> strings(JsonNode n, String field, Pattern form) {
        if (n == null || n.isNull()) {
            return List.of();
        }
        if (!n.isArray() || n.size() > 50) {
            throw GatewayException.badRequest(field + " is a list of at most 50 strings");
        }
        List<String> out = new ArrayList<>();
        for (JsonNode v : n) {
            if (!v.isTextual() || !form.matcher(v.asText()).matches()) {
                throw GatewayException.badRequest(field + " has an invalid entry");
            }
            if (!out.contains(v.asText())) {
                out.add(v.asText());
            }
        }
        if (out.isEmpty()) {
            throw GatewayException.badRequest(field + ": an empty list would allow nothing; leave it out for the "
                    + "owner's own scope");
        }
        return out;
    }

    private static Budget budget(JsonNode b, JsonNode l) {
        Long tokens = null;
        Long cost = null;
        String period = null;
        if (b != null && !b.isNull()) {
            if (!b.isObject()) {
                throw GatewayException.badRequest("budget is an object: {\"tokens\": n | \"cost\": \"d\", \"period\": "
                        + "\"day\" | \"month\"}");
            }
            only(b, Set.of("tokens", "cost", "period"), "budget");
            if (b.has("tokens") == b.has("cost")) {
                throw GatewayException.badRequest("budget has tokens or cost (one of them)");
            }
            JsonNode p = b.get("period");
            if (p == null || !p.isTextual() || !Set.of("day", "month").contains(p.asText())) {
                throw GatewayException.badRequest("budget.period is day or month");
            }
            period = p.asText();
            if (b.has("tokens")) {
                tokens = count(b.get("tokens"), "budget.tokens");
            } else {
                cost = micros(b.get("cost"));
            }
        }
        Long rpm = null;
        Long tpm = null;
        if (l != null && !l.isNull()) {
            if (!l.isObject()) {
                throw GatewayException.badRequest("limits is an object: {\"requests_per_minute\": n, "
                        + "\"tokens_per_minute\": n}");
            }
            only(l, Set.of("requests_per_minute", "tokens_per_minute"), "limits");
            rpm = l.has("requests_per_minute") && !l.get("requests_per_minute").isNull()
                    ? count(l.get("requests_per_minute"), "limits.requests_per_minute") : null;
            tpm = l.has("tokens_per_minute") && !l.get("tokens_per_minute").isNull()
                    ? count(l.get("tokens_per_minute"), "limits.tokens_per_minute") : null;
        }
        return new Budget(rpm, tpm, tokens, cost, period);
    }

    private static void only(JsonNode o, Set<String> allowed, String field) {
        for (Iterator<String> it = o.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!allowed.contains(f)) {
                throw GatewayException.badRequest("unknown field '" + safe(f) + "' in " + field);
            }
        }
    }

    private static long count(JsonNode n, String field) {
        if (n == null || !n.isIntegralNumber() || !n.canConvertToLong() || n.longValue() < 1 || n.longValue() > MAX_COUNT) {
            throw GatewayException.badRequest(field + " is a whole number from 1 to " + MAX_COUNT);
        }
        return n.longValue();
    }

    private static long micros(JsonNode n) {
        try {
            BigDecimal v = n == null ? null : n.isNumber() ? n.decimalValue().stripTrailingZeros()
                    : n.isTextual() ? new BigDecimal(n.asText()).stripTrailingZeros() : null;
            if (v == null || v.signum() <= 0 || v.scale() > 6 || v.compareTo(BigDecimal.valueOf(1_000_000_000L)) > 0) {
                throw GatewayException.badRequest("budget.cost is an amount > 0 with at most 6 decimals");
            }
            return v.movePointRight(6).longValueExact();
        } catch (NumberFormatException | ArithmeticException e) {
            throw GatewayException.badRequest("budget.cost is an amount > 0 with at most 6 decimals");
        }
    }

    private static String safe(String s) {
        String t = s.replaceAll("[^A-Za-z0-9_.\\-]", "?");
        return t.length() > 40 ? t.substring(0, 40) : t;
    }

    // ---- stored form ------------------------------------------------------------------------------------

    public static String budget(Budget b) {
        if (b.budgetTokens() == null && b.budgetCostMicros() == null) {
            return null;
        }
        ObjectNode o = JSON.createObjectNode();
        if (b.budgetTokens() != null) {
            o.put("tokens", b.budgetTokens());
        }
        if (b.budgetCostMicros() != null) {
            o.put("cost", attest.usage.Prices.amount(b.budgetCostMicros()));
        }
        o.put("period", b.budgetPeriod());
        return o.toString();
    }

    public static String limits(Budget b) {
        if (b.requestsPerMinute() == null && b.tokensPerMinute() == null) {
            return null;
        }
        ObjectNode o = JSON.createObjectNode();
        if (b.requestsPerMinute() != null) {
            o.put("requests_per_minute", b.requestsPerMinute());
        }
        if (b.tokensPerMinute() != null) {
            o.put("tokens_per_minute", b.tokensPerMinute());
        }
        return o.toString();
    }

    public static Budget parseBudget(String budget, String limits) {
        try {
            JsonNode b = budget == null ? null : JSON.readTree(budget);
            JsonNode l = limits == null ? null : JSON.readTree(limits);
            return budget(b, l);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a stored key budget is not JSON");
        }
    }

    /** A key as its owner and auditors see it (never the secret). */
    public static ObjectNode view(VirtualKey k, java.time.Instant now) {
        ObjectNode o = JSON.createObjectNode();
        o.put("id", k.id().toString());
        o.put("name", k.name());
        o.put("hint", "atk_..." + k.hint());
        o.put("owner", k.ownerUsername() != null ? k.ownerUsername() : k.ownerSubject());
        o.put("owner_subject", k.ownerSubject());
        o.put("principal_type", k.principalType());
        o.set("upstreams", JSON.valueToTree(k.upstreams()));
        o.set("models", JSON.valueToTree(k.models()));
        String budget = budget(k.budget());
        String limits = limits(k.budget());
        try {
            o.set("budget", budget == null ? null : JSON.readTree(budget));
            o.set("limits", limits == null ? null : JSON.readTree(limits));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        o.put("created_at", k.createdAt().toString());
        o.put("created_by", k.createdBy());
        o.put("expires_at", k.expiresAt().toString());
        o.put("revoked_at", k.revokedAt() == null ? null : k.revokedAt().toString());
        o.put("status", k.revoked() ? "revoked" : k.expired(now) ? "expired" : "active");
        return o;
    }
}
