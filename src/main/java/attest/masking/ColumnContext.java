package attest.masking;

/**
 * The name of the column a value stands in, for values whose label is not just before them but at the head of
 * their column: a markdown table ({@code | Name | Phone |} above {@code | Ana | 13812345678 |}), CSV (a header
 * line above the row) and SQL ({@code INSERT INTO t (email, ssn) VALUES ('a@b.example', '123456789')}). The
 * detector's context words are then looked for in that name. Every search reaches back at most {@link #REACH}
 * characters, so the work per candidate is bounded and a whole scan stays linear.
 */
final class ColumnContext {
    static final int REACH = 2048;

    private ColumnContext() {
    }

    /** The header of the column holding the value that starts at {@code s} (lower-case text), or null. */
    static String header(String lower, int s) {
        int floor = Math.max(0, s - REACH);
        int lineStart = lineStart(lower, s, floor);
        if (lineStart < 0) {
            return null;
        }
        int first = lineStart;
        while (first < s && (lower.charAt(first) == ' ' || lower.charAt(first) == '\t')) {
            first++;
        }
        if (first < s && lower.charAt(first) == '|') {
            return tableHeader(lower, lineStart, s, floor);
        }
        String sql = sqlColumn(lower, s, floor);
        return sql != null ? sql : csvHeader(lower, lineStart, s, floor);
    }

    /**
     * For a stream, which sees only the end of what it already released: the header lines that the column of a
     * value on the line starting at {@code lineStart} would be looked up in (a markdown table's header and
     * delimiter row, a CSV header line), ending with a line break; or "" if the line is in no such block.
     */
    static String headerLines(String text, int lineStart) {
        int floor = Math.max(0, lineStart - REACH);
        String line = text.substring(lineStart);
        char mark = line.stripLeading().startsWith("|") ? '|' : line.indexOf(',') >= 0 ? ',' : 0;
        if (mark == 0) {
            return "";
        }
        int top = blockTop(text, lineStart, floor, mark);
        if (top == lineStart) {
            return "";
        }
        int firstEnd = text.indexOf('\n', top) + 1;
        if (mark == ',') {
            return csvHeaderLine(text.substring(top, firstEnd - 1)) ? text.substring(top, firstEnd) : "";
        }
        int secondEnd = text.indexOf('\n', firstEnd) + 1;
        if (secondEnd > 0 && secondEnd <= lineStart && delimiterRow(text.substring(firstEnd, secondEnd - 1))) {
            return text.substring(top, secondEnd);
        }
        return text.substring(top, firstEnd);
    }

    /** Whether a line can head a table or CSV block (a stream keeps it as context). */
    static boolean headerLike(String line) {
        return line.stripLeading().startsWith("|") || csvHeaderLine(line);
    }

    /** A CSV header: at least two names, none longer than 40 characters, no digits. */
    static boolean csvHeaderLine(String line) {
        if (line.indexOf(',') < 0) {
            return false;
        }
        int field = 0;
        for (int i = 0; i < line.length(); i++) {
            char c = line.charAt(i);
            if (Character.isDigit(c)) {
                return false;
            }
            field = c == ',' ? 0 : field + 1;
            if (field > 40) {
                return false;
            }
        }
        return true;
    }

    /** The start of the line holding {@code s}, or -1 if it starts before {@code floor}. */
    private static int lineStart(String t, int s, int floor) {
        for (int i = s - 1; i >= floor; i--) {
            if (t.charAt(i) == '\n') {
                return i + 1;
            }
        }
        return floor == 0 ? 0 : -1;
    }

    private static int count(String t, int from, int to, char c) {
        int n = 0;
        boolean quoted = false;
        for (int i = from; i < to; i++) {
            char x = t.charAt(i);
            if (x == '"') {
                quoted = !quoted;
            } else if (x == c && !quoted) {
                n++;
            }
        }
        return n;
    }

    /** Field {@code k} (0-based) of the line [from, to) split on {@code sep}, or null. */
    private static String field(String t, int from, int to, char sep, int k) {
        int i = from;
        for (int f = 0; f < k; f++) {
            int next = t.indexOf(sep, i);
            if (next < 0 || next >= to) {
                return null;
            }
            i = next + 1;
        }
        int end = t.indexOf(sep, i);
        return t.substring(i, end < 0 || end > to ? to : end);
    }

    /** The topmost line of the block of lines above {@code lineStart} that all contain {@code mark}. */
    private static int blockTop(String t, int lineStart, int floor, char mark) {
        int top = lineStart;
        while (top >= 2 && top - 1 > floor) {
            int prevStart = t.lastIndexOf('\n', top - 2) + 1;
            if (prevStart < floor) {
                break;
            }
            String prev = t.substring(prevStart, top - 1);
            if (prev.isBlank() || prev.startsWith("```") || prev.indexOf(mark) < 0) {
                break;
            }
            top = prevStart;
        }
        return top;
    }

    private static String tableHeader(String t, int lineStart, int s, int floor) {
        int k = count(t, lineStart, s, '|');
        int top = blockTop(t, lineStart, floor, '|');
        if (top == lineStart) {
            return null;
        }
        int topEnd = t.indexOf('\n', top);
        topEnd = topEnd < 0 ? t.length() : topEnd;
        // a markdown table: the header line is followed by the delimiter row (| --- | :-: |)
        int delimEnd = t.indexOf('\n', topEnd + 1);
        String delim = t.substring(Math.min(t.length(), topEnd + 1), delimEnd < 0 ? t.length() : delimEnd);
        if (!delim.strip().startsWith("|") || !delim.contains("-") || !delimiterRow(delim)) {
            return null;
        }
        return field(t, top, topEnd, '|', k);
    }

    /**
     * CSV: the header is the first line of the block of comma lines, and looks like one (as many fields as the
     * value's row, no digits, short names); prose with commas does not.
     */
    private static boolean delimiterRow(String line) {
        for (int i = 0; i < line.length(); i++) {
            char c = line.charAt(i);
            if (c != '|' && c != '-' && c != ':' && c != ' ' && c != '\t' && c != '\r') {
                return false;
            }
        }
        return true;
    }

    private static String csvHeader(String t, int lineStart, int s, int floor) {
        int lineEnd = t.indexOf('\n', s);
        lineEnd = lineEnd < 0 ? t.length() : lineEnd;
        int fields = count(t, lineStart, lineEnd, ',');
        if (fields == 0 || lineEnd - lineStart > REACH) {
            return null;
        }
        int top = blockTop(t, lineStart, floor, ',');
        if (top == lineStart) {
            return null;
        }
        int topEnd = t.indexOf('\n', top);
        topEnd = topEnd < 0 ? t.length() : topEnd;
        if (count(t, top, topEnd, ',') != fields || topEnd - top > 40 * (fields + 1)) {
            return null;
        }
        for (int i = top; i < topEnd; i++) {
            if (Character.isDigit(t.charAt(i))) {
                return null;
            }
        }
        return field(t, top, topEnd, ',', count(t, lineStart, s, ','));
    }

    /** In {@code INSERT ... (c1, c2) VALUES (v1, v2), (...)}: the column name of the value at {@code s}. */
    private static String sqlColumn(String t, int s, int floor) {
        int v = -1;
        for (int i = s - 6; i >= floor; i--) {
            if (t.startsWith("values", i)) {
                v = i;
                break;
            }
        }
        if (v < 0) {
            return null;
        }
        // the value's index inside its tuple
        int depth = 0;
        int k = 0;
        boolean quoted = false;
        for (int i = v + 6; i < s; i++) {
            char c = t.charAt(i);
            if (quoted) {
                quoted = c != '\'';
            } else if (c == '\'') {
                quoted = true;
            } else if (c == '(') {
                if (++depth == 1) {
                    k = 0;
                }
            } else if (c == ')') {
                depth--;
            } else if (c == ',' && depth == 1) {
                k++;
            } else if (c == ';') {
                return null;
            }
        }
        if (depth != 1) {
            return null;
        }
        int close = v - 1;
        while (close >= floor && Character.isWhitespace(t.charAt(close))) {
            close--;
        }
        if (close < floor || t.charAt(close) != ')') {
            return null;
        }
        int open = t.lastIndexOf('(', close);
        if (open < floor) {
            return null;
        }
        return field(t, open + 1, close, ',', k);
    }
}
