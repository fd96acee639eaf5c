package attest.identity;

import java.net.IDN;
import java.text.Normalizer;
import java.util.Locale;

/**
 * The forms in which two spellings of one username, or of one mailbox, compare equal: what the approvals use to tell
 * that an approver is the requester (or an earlier approver) under another spelling. Each key is as coarse as it can
 * be without making two mailboxes (or two accounts) that really are distinct the same:
 * <ul>
 *   <li>Default-ignorable code points (zero-width space and joiners, soft hyphen, bidi controls, variation
 *       selectors, word joiner, BOM, Hangul fillers, tags) are removed: they cannot be seen, and no identity
 *       provider or mail system gives them a meaning of their own in a name.</li>
 *   <li>NFKC, then full case folding ({@code ß}/{@code ẞ} to {@code ss}, final {@code ς} to {@code σ}, Unicode
 *       lower case otherwise), then NFKC again: full-width, compatibility and case variants are one name. The Turkic
 *       dotless {@code ı} stays distinct from {@code i} (case folding keeps it so).</li>
 *   <li>Emails only: the local part loses a {@code +tag} (sub-addressing, RFC 5233: {@code a+x@d} is delivered to
 *       {@code a@d}); the domain is compared in its ASCII (punycode) form after IDNA mapping, so
 *       {@code münchen.example} and {@code xn--mnchen-3ya.example} are one; a trailing dot and ideographic full stops
 *       are read as DNS reads them; Gmail's {@code googlemail.com} is {@code gmail.com}, and there (only there) dots
 *       in the local part are ignored, as Gmail ignores them.</li>
 * </ul>
 * The one place where two mailboxes that are distinct to DNS compare equal: a domain's {@code ß} folds to
 * {@code ss} like the rest of the address (IDNA2003 and UTS #46 transitional mapping do the same; under IDNA2008
 * {@code faß.example} is a registration of its own). That errs towards refusing an approver, never towards
 * admitting one.
 * <p>Not equal, on purpose: look-alike letters of other scripts (Cyrillic {@code а} and Latin {@code a} are distinct
 * mailboxes and distinct names), dots in local parts outside Gmail ({@code j.smith} and {@code jsmith} are two
 * people at most companies), other providers' tag separators ({@code -}), and different domains.
 */
public final class IdentityKeys {
    private IdentityKeys() {
    }

    /** The username's comparison key; null for null or blank. */
    public static String username(String username) {
        if (username == null) {
            return null;
        }
        String k = fold(username).strip();
        return k.isEmpty() ? null : k;
    }

    /**
     * The email's comparison key (see the class); null for null, or anything without a local part and a domain.
     * Only ever applied to an email its identity provider verified.
     */
    public static String email(String email) {
        if (email == null) {
            return null;
        }
        String e = fold(email).strip();
        int at = e.lastIndexOf('@');
        if (at < 1 || at == e.length() - 1) {
            return null;
        }
        String local = e.substring(0, at);
        String domain = domain(e.substring(at + 1));
        if (domain == null) {
            return null;
        }
        int plus = local.indexOf('+');
        if (plus > 0) {
            local = local.substring(0, plus);
        }
        if (domain.equals("googlemail.com")) {
            domain = "gmail.com";
        }
        if (domain.equals("gmail.com")) {
            local = local.replace(".", "");
        }
        return local.isEmpty() ? null : local + "@" + domain;
    }

    /** A domain in ASCII form (punycode labels in lower case), or its folded Unicode form where IDNA refuses it. */
    private static String domain(String folded) {
        String d = folded.replace('\u3002', '.').replace('\uff0e', '.').replace('\uff61', '.').strip();
        while (d.endsWith(".")) {
            d = d.substring(0, d.length() - 1);
        }
        if (d.isEmpty()) {
            return null;
        }
        String unicode;
        try {
            unicode = fold(IDN.toUnicode(d, IDN.ALLOW_UNASSIGNED)); // xn--… labels read as what they encode
        } catch (IllegalArgumentException e) {
            unicode = d;
        }
        try {
            return IDN.toASCII(unicode, IDN.ALLOW_UNASSIGNED).toLowerCase(Locale.ROOT);
        } catch (IllegalArgumentException e) {
            return unicode;
        }
    }

    /** Default-ignorables removed, NFKC, full case fold, NFKC; default-ignorables removed again. */
    static String fold(String s) {
        String n = Normalizer.normalize(withoutIgnorables(s), Normalizer.Form.NFKC);
        StringBuilder out = new StringBuilder(n.length());
        n.codePoints().forEach(cp -> {
            switch (cp) {
                case 0x00DF, 0x1E9E -> out.append("ss"); // ß, ẞ
                case 0x03C2 -> out.append('\u03C3'); // final sigma
                case 0x0131 -> out.append('\u0131'); // dotless i folds to itself
                case 0x0130 -> out.append("i\u0307"); // İ: i with a combining dot above, as full case folding
                default -> out.append(String.valueOf(Character.toChars(cp)).toLowerCase(Locale.ROOT));
            }
        });
        return withoutIgnorables(Normalizer.normalize(out, Normalizer.Form.NFKC));
    }

    /** The text without Unicode's Default_Ignorable_Code_Point characters. */
    static String withoutIgnorables(String s) {
        StringBuilder out = new StringBuilder(s.length());
        s.codePoints().filter(cp -> !defaultIgnorable(cp)).forEach(out::appendCodePoint);
        return out.toString();
    }

    /** Unicode's Default_Ignorable_Code_Point (DerivedCoreProperties, Unicode 15). */
    static boolean defaultIgnorable(int cp) {
        return cp == 0x00AD || cp == 0x034F || cp == 0x061C || (cp >= 0x115F && cp <= 0x1160)
                || (cp >= 0x17B4 && cp <= 0x17B5) || (cp >= 0x180B && cp <= 0x180F) || (cp >= 0x200B && cp <= 0x200F)
                || (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2060 && cp <= 0x206F) || cp == 0x3164
                || (cp >= 0xFE00 && cp <= 0xFE0F) || cp == 0xFEFF || cp == 0xFFA0 || (cp >= 0xFFF0 && cp <= 0xFFF8)
                || (cp >= 0x1BCA0 && cp <= 0x1BCA3) || (cp >= 0x1D173 && cp <= 0x1D17A)
                || (cp >= 0xE0000 && cp <= 0xE0FFF);
    }
}
