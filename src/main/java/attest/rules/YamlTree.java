package attest.rules;

import org.snakeyaml.engine.v2.api.LoadSettings;
import org.snakeyaml.engine.v2.composer.Composer;
import org.snakeyaml.engine.v2.exceptions.MarkedYamlEngineException;
import org.snakeyaml.engine.v2.nodes.MappingNode;
import org.snakeyaml.engine.v2.nodes.Node;
import org.snakeyaml.engine.v2.nodes.NodeTuple;
import org.snakeyaml.engine.v2.nodes.ScalarNode;
import org.snakeyaml.engine.v2.nodes.SequenceNode;
import org.snakeyaml.engine.v2.parser.ParserImpl;
import org.snakeyaml.engine.v2.scanner.StreamReader;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * A YAML document read with line numbers kept, so that every rule file (policy, masking, approval)
 * can say exactly where it is wrong. Duplicate keys and unknown keys are errors, not silent overrides.
 */
public final class YamlTree {
    private final String file;
    private final Node node;

    private YamlTree(String file, Node node) {
        this.file = file;
        this.node = node;
    }

    public static YamlTree read(Path path) {
        String text;
        try {
            text = Files.readString(path);
        } catch (IOException e) {
            throw new RuleFileException(path.toString(), 0, "cannot read file: " + e.getMessage());
        }
        return parse(path.toString(), text);
    }

    public static YamlTree parse(String file, String text) {
        LoadSettings settings = LoadSettings.builder().setAllowDuplicateKeys(false).setMaxAliasesForCollections(10)
                .setCodePointLimit(4 * 1024 * 1024).build();
        try {
            Composer composer = new Composer(settings, new ParserImpl(settings, new StreamReader(settings, text)));
            Optional<Node> single = composer.getSingleNode();
            if (single.isEmpty()) {
                throw new RuleFileException(file, 1, "file is empty");
            }
            return new YamlTree(file, single.get());
        } catch (MarkedYamlEngineException e) {
            int line = e.getProblemMark().map(m -> m.getLine() + 1).orElse(0);
            throw new RuleFileException(file, line, "invalid YAML: " + e.getProblem());
        } catch (RuleFileException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new RuleFileException(file, 0, "invalid YAML: " + e.getMessage());
        }
    }

    public String file() {
        return file;
    }

    public int line() {
        return node.getStartMark().map(m -> m.getLine() + 1).orElse(0);
    }

    public RuleFileException error(String problem) {
        return new RuleFileException(file, line(), problem);
    }

    public boolean isMap() {
        return node instanceof MappingNode;
    }

    /** The entries of a mapping, in order; keys must be scalars. */
    public Map<String, YamlTree> map() {
        if (!(node instanceof MappingNode m)) {
            throw error("expected a mapping");
        }
        Map<String, YamlTree> out = new LinkedHashMap<>();
        for (NodeTuple t : m.getValue()) {
            if (!(t.getKeyNode() instanceof ScalarNode k)) {
                throw new YamlTree(file, t.getKeyNode()).error("keys must be plain strings");
            }
            if (out.containsKey(k.getValue())) {
                throw new YamlTree(file, k).error("duplicate key '" + k.getValue() + "'");
            }
            out.put(k.getValue(), new YamlTree(file, t.getValueNode()));
        }
        return out;
    }

    /** A mapping whose keys must all be among {@code allowed}. */
    public Map<String, YamlTree> map(Set<String> allowed) {
        Map<String, YamlTree> m = map();
        for (Map.Entry<String, YamlTree> e : m.entrySet()) {
            if (!allowed.contains(e.getKey())) {
                throw e.getValue().error("unknown key '" + e.getKey() + "' (allowed: " + String.join(", ",
                        allowed.stream().sorted().toList()) + ")");
            }
        }
        return m;
    }

    public List<YamlTree> list() {
        if (!(node instanceof SequenceNode s)) {
            throw error("expected a list");
        }
        List<YamlTree> out = new ArrayList<>();
        for (Node n : s.getValue()) {
            out.add(new YamlTree(file, n));
        }
        return out;
    }

    public String scalar() {
        if (!(node instanceof ScalarNode s)) {
            throw error("expected a single value");
        }
        return s.getValue();
    }

    /** A scalar or a list of scalars, as a list of distinct non-empty strings. */
    public List<String> strings() {
        List<String> out = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        List<YamlTree> items = node instanceof SequenceNode ? list() : List.of(this);
        for (YamlTree item : items) {
            String v = item.scalar().trim();
            if (v.isEmpty()) {
                throw item.error("empty value");
            }
            if (seen.add(v)) {
                out.add(v);
            }
        }
        return out;
    }

    public long positiveLong() {
        String v = scalar().trim();
        try {
            long n = Long.parseLong(v);
            if (n <= 0) {
                throw error("must be a positive whole number, got " + v);
            }
            return n;
        } catch (NumberFormatException e) {
            throw error("must be a positive whole number, got '" + v + "'");
        }
    }
}
