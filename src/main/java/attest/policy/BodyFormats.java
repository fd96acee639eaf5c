package attest.policy;

import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Which request bodies each upstream accepts besides JSON. JSON is always accepted (it is read for the
 * policy's facts and the risk rules, whatever the Content-Type says); anything else must carry a Content-Type
 * listed for that upstream in {@code attest.upstream.<name>.accepted-content-types} (media types, {@code type/*}
 * allowed), or it is refused with 415. By default the list is empty: JSON only.
 */
public final class BodyFormats {
    private final Map<String, List<String>> accepted;

    public BodyFormats(Map<String, List<String>> accepted) {
        this.accepted = Map.copyOf(accepted);
    }

    /** JSON only, for every upstream. */
    public static BodyFormats jsonOnly() {
        return new BodyFormats(Map.of());
    }

    /** Whether a body that is not JSON may go to this upstream with this Content-Type. */
    public boolean acceptsNonJson(String upstream, String contentType) {
        if (contentType == null) {
            return false;
        }
        String media = mediaType(contentType);
        if (media.isEmpty()) {
            return false;
        }
        for (String allowed : accepted.getOrDefault(upstream, List.of())) {
            String a = allowed.trim().toLowerCase(Locale.ROOT);
            if (a.equals(media) || (a.endsWith("/*") && media.startsWith(a.substring(0, a.length() - 1)))) {
                return true;
            }
        }
        return false;
    }

    /** {@code type/subtype} in lower case, without parameters. */
    static String mediaType(String contentType) {
        int semi = contentType.indexOf(';');
        String m = (semi < 0 ? contentType : contentType.substring(0, semi)).trim().toLowerCase(Locale.ROOT);
        return m.matches("[a-z0-9!#$&^_.+-]+/[a-z0-9!#$&^_.+-]+") ? m : "";
    }
}
