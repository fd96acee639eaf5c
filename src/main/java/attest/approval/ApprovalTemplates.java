package attest.approval;

import org.thymeleaf.TemplateEngine;
import org.thymeleaf.context.Context;
import org.thymeleaf.templatemode.TemplateMode;
import org.thymeleaf.templateresolver.FileTemplateResolver;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The approval email, the digest email and the approval page, as Thymeleaf templates in a directory
 * ({@code attest.approval.templates-dir}, default {@code approval-templates/}) that an integration team edits and
 * brands without Java. HTML mode: {@code th:text} and attribute values are escaped; what a call carries reaches a
 * template only as a variable. A missing template stops the start.
 */
public final class ApprovalTemplates {
    public static final String PAGE = "approval-page";
    public static final String EMAIL = "approval-email";
    public static final String DIGEST = "approval-digest";

    private final TemplateEngine engine;

    public ApprovalTemplates(Path dir) {
        for (String name : List.of(PAGE, EMAIL, DIGEST)) {
            if (!Files.isRegularFile(dir.resolve(name + ".html"))) {
                throw new IllegalStateException("approval template missing: " + dir.resolve(name + ".html")
                        + " (attest.approval.templates-dir)");
            }
        }
        FileTemplateResolver resolver = new FileTemplateResolver();
        resolver.setPrefix(dir.toAbsolutePath() + "/");
        resolver.setSuffix(".html");
        resolver.setTemplateMode(TemplateMode.HTML);
        resolver.setCharacterEncoding("UTF-8");
        resolver.setCacheable(true);
        this.engine = new TemplateEngine();
        this.engine.setTemplateResolver(resolver);
    }

    /** Renders a template with the given variables. */
    public String render(String template, Map<String, Object> variables) {
        return engine.process(template, new Context(Locale.ROOT, variables));
    }

    /** What the call asks of the model, as rows for a template: {@code name}, {@code id} (for the cell's id), {@code value}. */
    public static List<Map<String, String>> shape(CallShape c) {
        List<Map<String, String>> rows = new ArrayList<>();
        for (String[] r : c.rows()) {
            Map<String, String> row = new LinkedHashMap<>();
            row.put("name", r[0]);
            row.put("id", r[0].toLowerCase(Locale.ROOT).replace(' ', '-'));
            row.put("value", r[1]);
            rows.add(row);
        }
        return rows;
    }
}
