package attest.audit;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.assertj.core.api.Assertions.assertThat;

/** CSV cells for reports: RFC 4180 quoting, and no spreadsheet formulas from evidence text. */
class CsvCellTest {
    @ParameterizedTest
    @CsvSource(delimiter = '|', quoteCharacter = '`', value = {
            "plain|plain",
            "a,b|`\"a,b\"`",
            "say \"hi\"|`\"say \"\"hi\"\"\"`",
            "=SUM(A1)|`\"'=SUM(A1)\"`",
            "+1|`\"'+1\"`",
            "@cmd|`\"'@cmd\"`"})
    void should_quote_and_defuse(String in, String out) {
        assertThat(RenderAuditReportProcessor.csv(in)).isEqualTo(out);
    }

    /** OWASP's list: a leading TAB or CR starts a formula too (spreadsheets strip them and read on). */
    @org.junit.jupiter.api.Test
    void should_defuse_a_formula_behind_a_leading_tab_or_carriage_return() {
        assertThat(RenderAuditReportProcessor.csv("\t=HYPERLINK(\"http://x\")"))
                .isEqualTo("\"'\t=HYPERLINK(\"\"http://x\"\")\"");
        assertThat(RenderAuditReportProcessor.csv("\r=1+1")).isEqualTo("\"'\r=1+1\"");
        assertThat(RenderAuditReportProcessor.csv("\tplain")).isEqualTo("\"'\tplain\"");
        assertThat(RenderAuditReportProcessor.csv("-1")).isEqualTo("\"'-1\""); // a string, not a number
    }

    @org.junit.jupiter.api.Test
    void should_leave_numbers_and_nulls_plain() {
        assertThat(RenderAuditReportProcessor.csv(-5L)).isEqualTo("-5");
        assertThat(RenderAuditReportProcessor.csv(null)).isEmpty();
    }
}
