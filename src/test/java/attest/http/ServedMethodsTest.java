package attest.http;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.assertj.core.api.Assertions.assertThat;

/** The control plane's methods per path, as its OpenAPI document lists them (empty: a path it does not name). */
class ServedMethodsTest {
    static final ServedMethods CONTROL = ServedMethods.controlPlane();

    /** path | Allow ("-": not documented, left to its route). */
    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            /health                                           | GET, HEAD
            /health/                                          | GET, HEAD
            /health/live                                      | GET, HEAD
            /metrics                                          | GET, HEAD
            /openapi.json                                     | GET, HEAD
            /keys                                             | GET, POST
            /keys/                                            | GET, POST
            /keys/0b6f6a3e-8d5e-4a53-9c70-1d2c3b4a5f60        | DELETE
            /approvals                                        | GET
            /approvals/x                                      | GET
            /approvals/x/decision                             | POST
            /approvals/x/review                               | GET, POST
            /audit/usage                                      | GET
            /audit/access                                     | GET
            /audit/records/x/replay                           | GET, POST
            /evidence/x/proof                                 | GET
            /rules/reload                                     | POST
            /auth/callback                                    | GET
            /nowhere                                          | -
            /approvals/x/result                               | -
            /keys/x/y                                         | -
            /HEALTH                                           | GET, HEAD
            /Keys/                                            | GET, POST
            """)
    void should_name_each_documented_paths_methods_in_the_doors_order(String path, String allow) {
        assertThat(CONTROL.allow(path).orElse("-")).isEqualTo(allow);
    }

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({"GET,/health,true", "HEAD,/health,true", "PUT,/health,false", "DELETE,/keys/x,true",
            "GET,/keys/x,false", "PATCH,/nowhere,true", "get,/keys,false"})
    void should_say_whether_a_method_is_served(String method, String path, boolean served) {
        assertThat(CONTROL.serves(path, method)).isEqualTo(served);
    }
}
