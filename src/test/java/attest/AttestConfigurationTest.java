package attest;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** attest.control.public-url as the approval page's links and sign-in redirect URI are built from it. */
class AttestConfigurationTest {
    @ParameterizedTest
    @CsvSource({"https://attest.example/, https://attest.example", "https://attest.example//, https://attest.example",
            "https://attest.example:443/gw/, https://attest.example:443/gw",
            "http://127.0.0.1:8081, http://127.0.0.1:8081"})
    void should_build_links_from_a_public_url_without_its_trailing_slashes(String configured, String used) {
        assertThat(AttestConfiguration.publicUrl(configured)).isEqualTo(used);
        assertThat(AttestConfiguration.publicUrl(configured) + "/auth/callback").doesNotContain("//auth");
    }

    @ParameterizedTest
    @ValueSource(strings = {"attest.example", "ftp://attest.example", "https://", "/", "https://u:p@attest.example"})
    void should_refuse_a_public_url_that_is_no_http_origin(String configured) {
        assertThatThrownBy(() -> AttestConfiguration.publicUrl(configured))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("attest.control.public-url is not an http or https URL with a host");
    }
}
