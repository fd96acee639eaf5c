package attest.approval;

import com.google.re2j.Pattern;
import com.google.re2j.RequiredLiterals;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The literal check before a prompt pattern runs (issue #12) may skip a search only where the search could not have
 * matched: for every pattern and text, a match implies that the folded text holds one of the pattern's literals.
 * Checked on the default sets and on patterns written to defeat it (optional parts, classes, repeats, flags, text
 * outside ASCII, case folds outside ASCII), with texts generated from the patterns' own words and mangled.
 */
class RequiredLiteralsTest {

    static Stream<Arguments> literals() {
        return Stream.of(
                Arguments.of("ignore\\s+previous", Set.of("previous")),
                Arguments.of("(repeat|reproduce|recite)\\s+data", Set.of("data")),
                // RE2J factors the alternatives' common prefixes: re(?:p(?:eat|roduce)|cite)
                Arguments.of("(repeat|reproduce|recite)\\s+x", Set.of("eat", "roduce", "cite")),
                Arguments.of("secret?", Set.of("secre")),
                Arguments.of("(?:ab)+c*", Set.of("ab")),
                Arguments.of("x{0,3}yy", Set.of("yy")),
                Arguments.of("(tell\\s+me|show)", Set.of("tell", "show")),
                Arguments.of("ALL\\s+Records", Set.of("records")),
                Arguments.of("(?-i)CaseSensitive", Set.of("casesensitive")),
                Arguments.of("\\Qa.b\\E", Set.of("a.b")));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("literals")
    void should_take_the_most_selective_literals_every_match_needs(String regex, Set<String> expected) {
        assertThat(RequiredLiterals.of(regex)).isEqualTo(expected);
    }

    @ParameterizedTest(name = "[{index}] {0}")
    @MethodSource("none")
    void should_know_no_literals_where_a_match_needs_none(String regex) {
        assertThat(RequiredLiterals.of(regex)).isNull();
    }

    static Stream<String> none() {
        return Stream.of(".*", "a?", "(abc)?", "[a-z]+", "\\w{3,}", "(abc|[0-9])", "x*", "", "\\b",
                "\u0441\u0435\u043a\u0440\u0435\u0442", "(unclosed");
    }

    @Test
    void should_fold_only_the_ascii_letters_and_their_two_folds_from_outside_ascii() {
        assertThat(RequiredLiterals.fold("SyStem \u212Aey \u017Fecret \u00C9T\u00C9 \u0130")).isEqualTo(
                "system key secret \u00C9t\u00C9 \u0130");
        String same = "already folded";
        assertThat(RequiredLiterals.fold(same)).isSameAs(same);
    }

    @Test
    void should_find_a_literal_for_every_default_pattern() {
        // otherwise the defaults would still run over every prompt
        for (List<String> set : PromptPatterns.DEFAULTS.values()) {
            for (String p : set) {
                assertThat(RequiredLiterals.of(p)).as(p).isNotNull().allSatisfy(l -> assertThat(l).hasSizeGreaterThan(2));
            }
        }
    }

    /** The defaults, and patterns written to catch a check that is too strict. */
    static List<String> patterns() {
        List<String> all = new ArrayList<>();
        PromptPatterns.DEFAULTS.values().forEach(all::addAll);
        all.addAll(List.of(
                "(ignore|disregard)?\\s*previous",
                "k(ey|ing)s?",
                "s(ys|tem)+",
                "(?-i)SYSTEM\\s+prompt",
                "a[bc]d|efg",
                "x{2,4}y",
                "(\\w+\\s+){0,2}secret",
                "sys.{0,3}tem",
                "p(?:r(?:i(?:n(?:t)?)?)?)?s",
                "caf\u00e9|bar",
                "^dump",
                "records$",
                "(?s)show.all",
                "[Kk]ey",
                "\\x{73}ecret",
                "(?-i:SYS)tem",
                "(a|)bc",
                "d(?:i|\u0130|\u0131)sregard",
                "\\x{212A}ing"));
        return all;
    }

    static final String[] WORDS = {"repeat", "reproduce", "print", "output", "your", "training", "data", "verbatim",
        "trained", "what", "documents", "were", "was", "you", "on", "memorised", "memorized", "examples", "records",
        "ignore", "disregard", "forget", "all", "any", "of", "the", "previous", "prior", "above", "instructions",
        "rules", "reveal", "show", "tell", "me", "system", "hidden", "initial", "prompt", "message", "is", "are",
        "list", "export", "dump", "give", "every", "each", "customers", "users", "patients", "people", "ssn",
        "social", "security", "card", "email", "phone", "iban", "customer", "user", "key", "keys", "king", "secret",
        "sys", "stem", "tem", "abd", "acd", "efg", "xxy", "xxxy", "caf\u00e9", "bar", "prints", "ps", "prs", "show\nall",
        "SYStem", "bc", "abc", "d\u0130sregard", "d\u0131sregard", "\uD83D\uDE00", "\uD83D", "\u212Aing", "kING"};

    /** A word with its case mangled, and S/K sometimes written with the folds RE2 accepts from outside ASCII. */
    static String mangle(String w, Random rnd) {
        StringBuilder b = new StringBuilder();
        for (char c : w.toCharArray()) {
            int roll = rnd.nextInt(10);
            if ((c == 'k' || c == 'K') && roll < 3) {
                b.append('\u212A');
            } else if ((c == 's' || c == 'S') && roll < 3) {
                b.append('\u017F');
            } else {
                b.append(roll < 5 ? Character.toUpperCase(c) : c);
            }
        }
        return b.toString();
    }

    @Test
    void should_never_skip_a_search_that_would_have_matched() {
        Random rnd = new Random(12);
        String[] seps = {" ", "  ", "\t", "\n", "", "-", " the ", " a b c "};
        List<String> patterns = patterns();
        List<Pattern> compiled = new ArrayList<>();
        List<Set<String>> required = new ArrayList<>();
        for (String p : patterns) {
            compiled.add(Pattern.compile(p, Pattern.CASE_INSENSITIVE));
            required.add(RequiredLiterals.of(p));
        }
        int matched = 0;
        int skipped = 0;
        for (int i = 0; i < 60_000; i++) {
            StringBuilder text = new StringBuilder();
            int n = 1 + rnd.nextInt(8);
            for (int w = 0; w < n; w++) {
                text.append(mangle(WORDS[rnd.nextInt(WORDS.length)], rnd)).append(seps[rnd.nextInt(seps.length)]);
            }
            String t = text.toString();
            String folded = RequiredLiterals.fold(t);
            for (int k = 0; k < compiled.size(); k++) {
                boolean match = compiled.get(k).matcher(t).find();
                Set<String> l = required.get(k);
                boolean runs = l == null || RequiredLiterals.anyIn(folded, l);
                if (match) {
                    matched++;
                    assertThat(runs).as("pattern %s matches %s but its literals %s are not in it", patterns.get(k),
                            t, l).isTrue();
                }
                if (!runs) {
                    skipped++;
                }
            }
        }
        // the generator reaches both sides: matches (each of which the check let through), and skipped searches
        assertThat(matched).isGreaterThan(10_000);
        assertThat(skipped).isGreaterThan(100_000);
    }
}
