package attest.evidence.chain;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** RFC 8785 canonicalization for evidence values, with the RFC's own sorting example. */
class CanonicalTest {
    static String canon(String json) {
        return new String(Canonical.of(Canonical.parse(json.getBytes(StandardCharsets.UTF_8))), StandardCharsets.UTF_8);
    }

    @Test
    void should_sort_members_by_utf16_code_units_as_rfc_8785_section_3_2_3() {
        String in = "{\"\\u20ac\":\"Euro Sign\",\"\\r\":\"Carriage Return\",\"\\ufb33\":\"Hebrew Letter Dalet With "
                + "Dagesh\",\"1\":\"One\",\"\\ud83d\\ude00\":\"Emoji: Grinning Face\",\"\\u0080\":\"Control\","
                + "\"\\u00f6\":\"Latin Small Letter O With Diaeresis\"}";
        assertThat(canon(in)).isEqualTo("{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u0080\":\"Control\","
                + "\"\u00f6\":\"Latin Small Letter O With Diaeresis\",\"\u20ac\":\"Euro Sign\","
                + "\"\ud83d\ude00\":\"Emoji: Grinning Face\",\"\ufb33\":\"Hebrew Letter Dalet With Dagesh\"}");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "{ \"b\" : 2, \"a\" : [ 1, true, null, \"x\" ] }|{\"a\":[1,true,null,\"x\"],\"b\":2}",
            "\"\\u0001\\u001f\\b\\f\\n\\r\\t\\\"\\\\/\"|\"\\u0001\\u001f\\b\\f\\n\\r\\t\\\"\\\\/\"",
            "\"\\u00e9\\u2028\"|\"\u00e9\u2028\"",
            "{\"n\":-9007199254740991}|{\"n\":-9007199254740991}",
            "{\"nested\":{\"z\":{},\"a\":[]}}|{\"nested\":{\"a\":[],\"z\":{}}}"})
    void should_render_the_canonical_form(String in, String out) {
        assertThat(canon(in)).isEqualTo(out);
        assertThat(Canonical.isCanonical(out.getBytes(StandardCharsets.UTF_8))).isTrue();
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {"{\"a\":1.5}", "{\"a\":1e3}", "{\"a\":9007199254740993}",
            "{\"a\":1,\"a\":2}", "{\"a\":1} x", "\"\\ud800\""})
    void should_refuse_what_evidence_never_holds(String in) {
        assertThatThrownBy(() -> Canonical.of(Canonical.parse(in.getBytes(StandardCharsets.UTF_8))))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void should_tell_non_canonical_bytes() {
        assertThat(Canonical.isCanonical("{\"a\":1,\"b\":2}".getBytes(StandardCharsets.UTF_8))).isTrue();
        assertThat(Canonical.isCanonical("{\"b\":2,\"a\":1}".getBytes(StandardCharsets.UTF_8))).isFalse();
        assertThat(Canonical.isCanonical("{\"a\": 1}".getBytes(StandardCharsets.UTF_8))).isFalse();
        assertThat(Canonical.isCanonical("{\"a\":\"\\u00e9\"}".getBytes(StandardCharsets.UTF_8))).isFalse();
    }

    @Test
    void should_write_java_values_in_order_independent_form() {
        Map<String, Object> a = new LinkedHashMap<>();
        a.put("z", List.of(1L, "two"));
        a.put("a", null);
        assertThat(new String(Canonical.of(a), StandardCharsets.UTF_8)).isEqualTo("{\"a\":null,\"z\":[1,\"two\"]}");
    }
}
