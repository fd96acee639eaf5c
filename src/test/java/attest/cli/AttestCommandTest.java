package attest.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** The {@code attest} command line: check-rules offline, run refusing to start unconfigured, the tools' exit codes. */
class AttestCommandTest {
    @TempDir
    Path tmp;

    @Test
    void should_accept_the_shipped_rules() throws Exception {
        Result r = checkRules(Path.of("").toAbsolutePath());
        assertThat(r.code).as(r.out).isZero();
        assertThat(r.out).containsPattern("OK: [1-9]\\d* policy rules, [1-9]\\d* masking rule sets, [1-9]\\d* risk rules");
    }

    @Test
    void should_name_file_and_line_of_every_bad_file_and_go_on_after_the_first() throws Exception {
        copyShipped();
        Path policy = tmp.resolve("policy/least-privilege.yaml");
        String text = Files.readString(policy);
        // an unknown decision, on a line the error must name
        Files.writeString(policy, text.replaceFirst("decision: ALLOW", "decision: MAYBE"));
        int line = lineOf(Files.readString(policy), "decision: MAYBE");
        // a YAML syntax error in a second folder, and a rule set id used twice across two masking files
        Files.writeString(tmp.resolve("approval-flow/broken.yaml"), "rules:\n  - id: x\n    reason: [unclosed\n");
        Files.copy(tmp.resolve("masking-rules/default.yaml"), tmp.resolve("masking-rules/zz-copy.yaml"));

        Result r = checkRules(tmp);

        assertThat(r.code).as(r.out).isEqualTo(CheckRulesCommand.INVALID);
        assertThat(r.out).contains(policy + ":" + line + ": decision must be ALLOW, DENY or REVIEW, got 'MAYBE'");
        assertThat(r.out).containsPattern(java.util.regex.Pattern.quote(tmp.resolve("approval-flow/broken.yaml")
                .toString()) + ":\\d+: invalid YAML");
        assertThat(r.out).contains(tmp.resolve("masking-rules/zz-copy.yaml") + ": duplicate id 'default'");
        assertThat(r.out).contains("INVALID: 3 problems").doesNotContain("OK:");
    }

    @Test
    void should_refuse_a_policy_that_names_an_upstream_the_settings_do_not_have() throws Exception {
        copyShipped();
        assertThat(checkRules(tmp, "--upstreams", "other").out).contains("least-privilege.yaml:")
                .contains("unknown upstream");
        Path cfg = tmp.resolve("gw.properties");
        Files.writeString(cfg, "attest.upstreams=llm,other\n");
        assertThat(checkRules(tmp, "--config", cfg.toString()).code).isZero();
    }

    @Test
    void should_refuse_a_folder_with_nothing_to_check() throws Exception {
        assertThat(checkRules(tmp).code).isEqualTo(CheckRulesCommand.NOTHING);
        Files.createDirectories(tmp.resolve("policy"));
        Files.writeString(tmp.resolve("policy/notes.txt"), "not yaml");
        assertThat(checkRules(tmp).code).isEqualTo(CheckRulesCommand.NOTHING);
        assertThat(checkRules(tmp.resolve("missing")).code).isEqualTo(CheckRulesCommand.NOTHING);
    }

    @Test
    void should_refuse_to_run_without_a_database_url_before_starting_anything() {
        assertThat(System.getProperty("attest.db.url")).isNull();
        Result r = run("run");
        assertThat(r.code).isEqualTo(RunCommand.NOT_CONFIGURED);
        assertThat(r.err).contains("attest.db.url is not set").contains("starts no database of its own")
                .doesNotContain("Exception").doesNotContain("\tat ");
        // a blank value is no value; neither is a --config file that sets none
        assertThat(run("run", "--config", write("attest.db.url=   \n")).code).isEqualTo(RunCommand.NOT_CONFIGURED);
        assertThat(run("run", "--config", tmp.resolve("absent.properties").toString()).err)
                .contains("cannot read the --config file");
        assertThat(run().code).as("no subcommand means run").isEqualTo(RunCommand.NOT_CONFIGURED);
    }

    @Test
    void should_resolve_settings_in_camels_order() throws Exception {
        Path cfg = Path.of(write("attest.db.url=jdbc:postgresql://from-file/attest\nattest.data.port=9999\n"));
        EffectiveSettings s = EffectiveSettings.load(cfg, Map.of("ATTEST_DATA_PORT", "7777")::get);
        assertThat(s.get("attest.db.url")).contains("jdbc:postgresql://from-file/attest");
        assertThat(s.get("attest.data.port")).as("the environment overrides the file").contains("7777");
        assertThat(s.get("attest.control.port")).as("the defaults").contains("8081");
        assertThat(EffectiveSettings.load(null, k -> null).get("attest.db.url")).isEmpty();
        assertThat(EffectiveSettings.locations(cfg)).isEqualTo("file:" + cfg.toAbsolutePath()
                + ",classpath:application.properties");
    }

    @Test
    void should_let_the_config_file_win_over_the_defaults_in_camel_itself() throws Exception {
        Path cfg = Path.of(write("attest.data.port=9999\nattest.upstream.llm.credential.secret-env=\n"));
        try (var ctx = new org.apache.camel.impl.DefaultCamelContext()) {
            ctx.getPropertiesComponent().setLocation(EffectiveSettings.locations(cfg));
            ctx.start();
            var props = ctx.getPropertiesComponent();
            assertThat(props.resolveProperty("attest.data.port")).contains("9999");
            assertThat(props.resolveProperty("attest.upstream.llm.credential.secret-env")).as("an empty value too")
                    .hasValueSatisfying(v -> assertThat(v).isEmpty());
            assertThat(props.resolveProperty("attest.control.port")).as("the defaults behind it").contains("8081");
        }
    }

    @Test
    void should_keep_the_tools_exit_codes() {
        assertThat(run("verify").code).isEqualTo(2);
        assertThat(run("verify").out).contains("UNVERIFIABLE: give --jdbc, --export or --receipt");
        assertThat(run("verify", "--export", tmp.resolve("none").toString()).code).isEqualTo(2);
        assertThat(run("export", "--jdbc", "jdbc:postgresql://127.0.0.1:1/x").code).isEqualTo(2);
        assertThat(run("no-such-command").code).isEqualTo(AttestCommand.USAGE);
        assertThat(run("check-rules").code).as("DIR is required").isEqualTo(AttestCommand.USAGE);
    }

    @Test
    void should_refuse_keys_commands_without_a_database_or_with_bad_arguments() {
        Result list = run("keys", "list");
        assertThat(list.code).isEqualTo(KeysCommand.NOT_CONFIGURED);
        assertThat(list.err).contains("attest keys list: attest.db.url is not set").doesNotContain("Exception")
                .doesNotContain("\tat ");
        Result revoke = run("keys", "revoke", "../etc", "--config", write("attest.db.url=jdbc:postgresql://x/y\n"));
        assertThat(revoke.code).isEqualTo(KeysCommand.NOT_CONFIGURED);
        assertThat(revoke.err).contains("not a key id: ???etc");
        assertThat(run("keys", "create", "--name", "x").code).as("an owner is required").isEqualTo(AttestCommand.USAGE);
        assertThat(run("keys", "create", "--owner", "a", "--service-account", "b", "--name", "x").code)
                .as("one owner only").isEqualTo(AttestCommand.USAGE);
        assertThat(run("keys", "create", "--owner", "a", "--name", "x", "--config", tmp.resolve("absent").toString())
                .err).contains("cannot read the --config file");
        assertThat(run("keys").code).as("a subcommand is required").isEqualTo(KeysCommand.NOT_CONFIGURED);
        assertThat(run("--help").out).contains("keys");
    }

    @Test
    void should_read_the_create_options_as_the_rest_body() {
        KeysCommand.Create c = new KeysCommand.Create();
        new CommandLine(c).parseArgs("--owner", "alice", "--name", "nb", "--expires-in", "P7D", "--upstream", "llm",
                "--model", "demo-*,gpt-4o", "--budget-cost", "12.5", "--budget-period", "month",
                "--requests-per-minute", "60", "--tokens-per-minute", "1000");
        var req = attest.keys.KeyJson.read(c.body(), java.time.Duration.ofDays(30), java.time.Duration.ofDays(365));
        assertThat(req.name()).isEqualTo("nb");
        assertThat(req.expiresIn()).isEqualTo(java.time.Duration.ofDays(7));
        assertThat(req.upstreams()).containsExactly("llm");
        assertThat(req.models()).containsExactly("demo-*", "gpt-4o");
        assertThat(req.budget().budgetCostMicros()).isEqualTo(12_500_000L);
        assertThat(req.budget().budgetPeriod()).isEqualTo("month");
        assertThat(req.budget().requestsPerMinute()).isEqualTo(60L);
        assertThat(req.budget().tokensPerMinute()).isEqualTo(1000L);
        // the REST reader's refusals hold for the options too: a budget without its period, a zero limit
        KeysCommand.Create bad = new KeysCommand.Create();
        new CommandLine(bad).parseArgs("--owner", "alice", "--name", "nb", "--budget-tokens", "5");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> attest.keys.KeyJson.read(bad.body(),
                java.time.Duration.ofDays(30), java.time.Duration.ofDays(365))).hasMessageContaining("budget.period");
    }

    private void copyShipped() throws Exception {
        for (String dir : new String[]{"policy", "masking-rules", "approval-flow"}) {
            Files.createDirectories(tmp.resolve(dir));
            try (var files = Files.list(Path.of(dir))) {
                for (Path f : files.filter(p -> p.toString().endsWith(".yaml")).toList()) {
                    Files.copy(f, tmp.resolve(dir).resolve(f.getFileName()));
                }
            }
        }
    }

    private String write(String properties) {
        try {
            Path f = Files.createTempFile(tmp, "cfg", ".properties");
            Files.writeString(f, properties);
            return f.toString();
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static int lineOf(String text, String needle) {
        return text.substring(0, text.indexOf(needle)).split("\n", -1).length;
    }

    private Result checkRules(Path dir, String... more) {
        String[] args = new String[more.length + 2];
        args[0] = "check-rules";
        System.arraycopy(more, 0, args, 1, more.length);
        args[args.length - 1] = dir.toString();
        return run(args);
    }

    record Result(int code, String out, String err) {
    }

    /** Runs the command line as the jar does, with its standard streams captured. */
    static Result run(String... args) {
        PrintStream out = System.out;
        PrintStream err = System.err;
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        ByteArrayOutputStream e = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(o, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(e, true, StandardCharsets.UTF_8));
            CommandLine cl = AttestCommand.commandLine();
            cl.setOut(new java.io.PrintWriter(System.out, true));
            cl.setErr(new java.io.PrintWriter(System.err, true));
            int code = cl.execute(args);
            return new Result(code, o.toString(StandardCharsets.UTF_8), e.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(out);
            System.setErr(err);
        }
    }
}
