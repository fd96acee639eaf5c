package attest.e2e;

import attest.stack.Gateway;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.ObjectMappers;
import com.openai.core.http.StreamResponse;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionTokenLogprob;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.text.Normalizer;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static attest.e2e.E2E.evidence;
import static attest.e2e.E2E.stack;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * An outsider's attack on one promise: an entity never leaves the gateway, even when the upstream puts it in a JSON
 * member name (an object key) rather than a value. Written without reading the masking code: an upstream of our own
 * (JDK HttpServer) answers real API shapes whose names carry entities (legacy completions' {@code top_logprobs}
 * maps, chat {@code logprobs} tokens and bytes, arbitrary objects, nested objects and arrays of objects, names that
 * mask alike, JSON escapes, Unicode forms, error bodies and other JSON content types, SSE and NDJSON streams, a
 * block-type secret only in a name), through two real gateways: one on the shipped rule set ({@code masking-rules/},
 * cards partial, secrets redacted) and one on the suite's rule set ({@code tests/e2e-masking-rules}, secrets block).
 * <p>
 * For every answer: no raw entity in the bytes the caller got, as received, JSON-unescaped, NFKC-normalised, with
 * separators removed, in the decoded {@code bytes} arrays, and in the names and tokens joined across events; the
 * answer still parses (no repeated name: a client would lose a value); members are not lost; and the evidence
 * ({@code masking_report}, delivered body) recorded the redaction without a raw entity. Raw HTTP unless the test
 * says SDK; the SDK tests use the official OpenAI Java SDK.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class MaskingMemberNamesE2EIT {
    // ---- the entities (all detectable by the built-in detectors as documented in docs/masking.md) ---------------
    static final String CARD = "4111 1111 1111 1111";
    static final String CARD_DASH = "4111-1111-1111-1111";
    static final String SSN = "536-90-4399";
    static final String IBAN = "DE89 3704 0044 0532 0130 00";
    static final String EMAIL = "jane.doe@example.com";
    static final String EMAIL2 = "john.roe@example.org";
    static final String EMAIL3 = "mary.major@example.net";
    static final String PHONE = "+1 415 555 2671";
    static final String SECRET = "AKIAQX4MZ7PL2WN8RT3K";
    static final String IP = "192.168.10.7";

    /** Raw forms that may never reach the caller, checked in every view of what it got. */
    static final List<String> FORMS = List.of(CARD, CARD_DASH, "4111 1111", "1111 1111", "1111-1111", SSN, "90-4399",
            IBAN, "DE89370400440532013000", "3704 0044", EMAIL, "jane.doe", EMAIL2, "john.roe", EMAIL3, "mary.major",
            "415 555 2671", "555 2671", "415-555-2671", SECRET, "QX4MZ7PL2WN8", IP, "168.10.7");
    /** The same, with every character that is not a letter or a digit removed (the "compact" view). */
    static final List<String> COMPACT_FORMS = List.of("4111111111111111", "41111111", "11111111", "536904399",
            "DE89370400440532013000", "37040044", "janedoeexamplecom", "janedoe", "johnroeexampleorg", "johnroe",
            "marymajor", "4155552671", "5552671", SECRET, "192168107");
    static final Pattern EMAIL_SHAPE = Pattern.compile("[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\\.[A-Za-z0-9-]+)*\\.[A-Za-z]{2,}");
    static final Pattern AWS_SHAPE = Pattern.compile("AKIA[0-9A-Z]{16}");
    /** Our own reader: refuses a repeated name, and has no length or depth limit of its own. */
    static final ObjectMapper STRICT = new ObjectMapper(com.fasterxml.jackson.core.JsonFactory.builder()
            .streamReadConstraints(com.fasterxml.jackson.core.StreamReadConstraints.builder()
                    .maxNameLength(Integer.MAX_VALUE).maxStringLength(Integer.MAX_VALUE).maxNestingDepth(1_000_000).build())
            .enable(com.fasterxml.jackson.core.StreamReadFeature.STRICT_DUPLICATE_DETECTION).build())
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    static HttpServer upstream;
    static ExecutorService upstreamThreads;
    static Gateway shipped;
    static Gateway blocking;
    static int shippedPort;
    static int shippedControl;
    static int blockingPort;
    static Instant started;
    /** What each case's upstream answers. */
    static final Map<String, Reply> REPLIES = new ConcurrentHashMap<>();
    /** Request ids of the calls made through the shipped gateway (their Kafka events are checked at the end). */
    static final List<String> SHIPPED_CALLS = java.util.Collections.synchronizedList(new ArrayList<>());
    /** The outcome of every case, printed at the end for the report. */
    static final Map<String, String> VERDICTS = new ConcurrentHashMap<>();

    record Reply(int status, String contentType, List<String> pieces, boolean stream) {
        java.nio.charset.Charset charset() {
            Matcher m = contentType == null ? null : CHARSET.matcher(contentType);
            return m != null && m.find() ? java.nio.charset.Charset.forName(m.group(1)) : StandardCharsets.UTF_8;
        }
    }

    static final Pattern CHARSET = Pattern.compile("charset=\"?([A-Za-z0-9_-]+)");

    record Got(int status, String contentType, String text, boolean cut) {
    }

    // ---- set-up ---------------------------------------------------------------------------------------------------

    @BeforeAll
    static void up() throws Exception {
        started = Instant.now();
        cases();
        upstream = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 64);
        upstreamThreads = Executors.newFixedThreadPool(8);
        upstream.setExecutor(upstreamThreads);
        upstream.createContext("/", MaskingMemberNamesE2EIT::serve);
        upstream.start();

        var s = stack();
        Map<String, String> p = s.extraGatewaySettings();
        p.put("attest.instance-id", "member-names-shipped");
        p.put("attest.upstream.llm.base-url", "http://127.0.0.1:" + upstream.getAddress().getPort());
        p.put("attest.masking.rules-dir", "masking-rules"); // shipped: CARD partial, SECRET redact, default redact
        p.put("attest.masking.time-budget-ms", "5000");
        p.put("attest.kafka.brokers", s.kafka.bootstrap()); // its evidence events go to the suite's topic
        shippedPort = Integer.parseInt(p.get("attest.data.port"));
        shippedControl = Integer.parseInt(p.get("attest.control.port"));
        shipped = new Gateway(p).start();

        Map<String, String> b = s.extraGatewaySettings();
        b.put("attest.instance-id", "member-names-blocking");
        b.put("attest.upstream.llm.base-url", "http://127.0.0.1:" + upstream.getAddress().getPort());
        b.put("attest.masking.rules-dir", "tests/e2e-masking-rules"); // SECRET: block
        b.put("attest.masking.time-budget-ms", "5000");
        blockingPort = Integer.parseInt(b.get("attest.data.port"));
        blocking = new Gateway(b).start();
    }

    @AfterAll
    static void down() {
        StringBuilder sb = new StringBuilder("\n[member-names] verdicts:\n");
        new java.util.TreeMap<>(VERDICTS).forEach((k, v) -> sb.append("  ").append(k).append(": ").append(v).append('\n'));
        System.out.println(sb);
        if (shipped != null) {
            shipped.close();
        }
        if (blocking != null) {
            blocking.close();
        }
        if (upstream != null) {
            upstream.stop(0);
            upstreamThreads.shutdownNow();
        }
    }

    // ---- the upstream: the answers ---------------------------------------------------------------------------------

    static String q(String s) {
        return s.replace('\'', '"');
    }

    static String bytes(String s) {
        StringBuilder b = new StringBuilder("[");
        for (byte x : s.getBytes(StandardCharsets.UTF_8)) {
            b.append(b.length() == 1 ? "" : ",").append(x & 0xff);
        }
        return b.append(']').toString();
    }

    static void whole(String name, String json) {
        whole(name, 200, "application/json", json);
    }

    static void whole(String name, int status, String contentType, String json) {
        REPLIES.put(name, new Reply(status, contentType, List.of(q(json)), false));
    }

    static void sse(String name, String... events) {
        List<String> pieces = new ArrayList<>();
        for (String e : events) {
            pieces.add(e.startsWith("event:") ? q(e) : "data: " + q(e) + "\n\n");
        }
        pieces.add("data: [DONE]\n\n");
        REPLIES.put(name, new Reply(200, "text/event-stream", pieces, true));
    }

    static void ndjson(String name, String... lines) {
        List<String> pieces = new ArrayList<>();
        for (String l : lines) {
            pieces.add(q(l) + "\n");
        }
        REPLIES.put(name, new Reply(200, "application/x-ndjson", pieces, true));
    }

    static String chat(String extraTop, String messageExtra, String content, String logprobs) {
        return "{'id':'chatcmpl-mn','object':'chat.completion','created':1764000000,'model':'mn-model',"
                + "'choices':[{'index':0,'message':{'role':'assistant','content':'" + content + "'" + messageExtra
                + "},'logprobs':" + logprobs + ",'finish_reason':'stop'}],"
                + "'usage':{'prompt_tokens':5,'completion_tokens':1,'total_tokens':6}" + extraTop + "}";
    }

    static String chunk(String delta, String logprobs, String extra) {
        return "{'id':'chatcmpl-mn','object':'chat.completion.chunk','created':1764000000,'model':'mn-model',"
                + "'choices':[{'index':0,'delta':" + delta + ",'logprobs':" + logprobs + ",'finish_reason':null}]"
                + extra + "}";
    }

    static String legacy(String text, String logprobs) {
        return "{'id':'cmpl-mn','object':'text_completion','created':1764000000,'model':'mn-model',"
                + "'choices':[{'text':'" + text + "','index':0,'logprobs':" + logprobs + ",'finish_reason':'stop'}],"
                + "'usage':{'prompt_tokens':5,'completion_tokens':2,'total_tokens':7}}";
    }

    static String legacyChunk(String text, String logprobs, String finish) {
        return "{'id':'cmpl-mn','object':'text_completion','created':1764000000,'model':'mn-model',"
                + "'choices':[{'text':'" + text + "','index':0,'logprobs':" + logprobs + ",'finish_reason':" + finish
                + "}]}";
    }

    /** A chat logprobs entry: the token, its bytes, and alternatives (token, bytes of what they give back). */
    static String tokenLogprob(String token, String... alternatives) {
        StringBuilder b = new StringBuilder("{'token':'" + token + "','logprob':-0.1,'bytes':" + bytes(token)
                + ",'top_logprobs':[");
        for (int i = 0; i < alternatives.length; i += 2) {
            b.append(i == 0 ? "" : ",").append("{'token':'").append(alternatives[i]).append("','logprob':-")
                    .append(i + 1).append(".5,'bytes':").append(bytes(alternatives[i + 1])).append('}');
        }
        return b.append("]}").toString();
    }

    static void cases() {
        // -- arbitrary objects: names at several levels of a chat completion
        whole("meta", chat(",'x_scores':{'" + EMAIL + "':0.9,'" + SSN + "':0.1,'" + IBAN + "':0.3,'" + PHONE + "':0.4,'"
                        + CARD + "':0.5,'" + SECRET + "':0.6,'" + IP + "':0.7,'plain name':0.8},'" + EMAIL2 + "':'top'",
                ",'x_owner':{'" + PHONE + "':'phone'}", "Hello", "null")
                .replace("'total_tokens':6", "'total_tokens':6,'" + EMAIL3 + "':3"));
        // -- nested objects and arrays of objects
        whole("nested", chat(",'x_data':{'people':{'" + EMAIL + "':{'" + IBAN + "':{'score':1,'" + SSN + "':true}}},"
                + "'rows':[{'" + CARD + "':1,'n':2},{'" + PHONE + "':'call'}],"
                + "'deep':[[{'" + EMAIL2 + "':[{'" + IP + "':null}]}]],"
                + "'mixed':{'Contact: " + EMAIL3 + " (primary)':'x'}}", "", "Hello", "null"));
        // -- names that mask alike, beside names already shaped like a mask, and many of them
        StringBuilder many = new StringBuilder();
        for (int i = 0; i < 40; i++) {
            many.append(i == 0 ? "" : ",").append("'user").append(i).append("@example.com':").append(i);
        }
        whole("collide", chat(",'x_scores':{'" + EMAIL + "':1,'" + EMAIL2 + "':2,'[EMAIL]':3,'[EMAIL] (2)':4,'" + EMAIL3
                + "':5,'" + CARD + "':6,'" + CARD_DASH + "':7,'[CARD ****1111]':8},'x_many':{" + many + "}", "",
                "Hello", "null"));
        // -- names written with JSON escapes (a client unescapes them back into the entity)
        whole("escaped", chat(",'x_scores':{'jane.doe\\u0040example.com':1,'\\u0034111 1111 1111 1111':2,"
                + "'536\\u002d90\\u002D4399':3,'\\u0044\\u0045\\u0038\\u0039 3704 0044 0532 0130 00':4,"
                + "'\\u002b1 415 555 2671':5,'john.roe\\u0040example\\u002eorg':6,'path\\/to':7,"
                + "'\\u006a\\u0061\\u006e\\u0065\\u002e\\u0064\\u006f\\u0065\\u0040\\u0065\\u0078\\u0061\\u006d\\u0070"
                + "\\u006c\\u0065\\u002e\\u0063\\u006f\\u006d x':8}", "", "Hello", "null"));
        // -- Unicode forms in names: full-width at sign and digits, NBSP groups, a zero-width space
        whole("unicode", chat(",'x_scores':{'jane.doe\uFF20example.com':1,'\uFF15\uFF13\uFF16-\uFF19\uFF10-\uFF14\uFF13"
                + "\uFF19\uFF19':2,'4111\\u00a01111\\u00a01111\\u00a01111':3,'john.roe\u200B@example.org':4,'"
                + escapeAll(mathBold(CARD)) + "':5}", "",
                "Hello", "null"));
        // -- the same names under other labels: an error body, problem+json, +json, text/plain, no type at all
        String errorBody = "{'error':{'message':'unknown users','type':'invalid_request_error',"
                + "'details':{'jane.doe\\u0040example.com':'not found','" + SSN + "':'bad'}}}";
        whole("err-400", 400, "application/json", errorBody);
        whole("ct-problem", 400, "application/problem+json", errorBody);
        whole("ct-vnd", 200, "application/vnd.api+json", chat(",'x_scores':{'jane.doe\\u0040example.com':1,'" + SSN
                + "':2}", "", "Hello", "null"));
        whole("ct-text", 200, "text/plain; charset=utf-8", chat(",'x_scores':{'jane.doe\\u0040example.com':1,'" + SSN
                + "':2}", "", "Hello", "null"));
        whole("ct-none", 200, null, chat(",'x_scores':{'jane.doe\\u0040example.com':1,'" + SSN + "':2}", "",
                "Hello", "null"));

        // -- legacy completions: top_logprobs maps whose names are tokens
        whole("legacy-top", legacy(" Hello there.", "{'tokens':[' Hello',' there','.'],'token_logprobs':[-0.1,-0.2,-0.3],"
                + "'top_logprobs':[{' Hello':-0.1,'" + EMAIL + "':-2.5,'" + SSN + "':-3.0},"
                + "{' there':-0.2,'" + CARD + "':-2.0,'" + IBAN + "':-4.0,'" + PHONE + "':-5.0},"
                + "{'.':-0.3,'" + SECRET + "':-6.0}],'text_offset':[0,6,12]}"));
        // the chosen tokens themselves spell an address, in the text and in the maps' names
        whole("legacy-tokens", legacy("Mail jane.doe@example.com", "{'tokens':['Mail',' jane','.doe','@example','.com'],"
                + "'token_logprobs':[-0.1,-0.1,-0.1,-0.1,-0.1],'top_logprobs':[{'Mail':-0.1},{' jane':-0.1},"
                + "{'.doe':-0.1},{'@example':-0.1},{'.com':-0.1}],'text_offset':[0,4,9,13,21]}"));

        // -- chat logprobs: tokens, bytes and alternatives; bytes that spell a card under a clean token
        String chatLogprobs = "{'content':[" + tokenLogprob("Hi", "Hi", "Hi", EMAIL, EMAIL, "x", CARD) + ","
                + tokenLogprob("!", "!", "!", SSN, SSN) + "],'refusal':null,'" + EMAIL3 + "':1}";
        whole("chat-logprobs", chat(",'x_scores':{'" + EMAIL + "':1,'" + IBAN + "':2}", "", "Hi!", chatLogprobs));
        whole("chat-tokens", chat("", "", "Mail jane.doe@example.com", "{'content':[" + tokenLogprob("Mail")
                + "," + tokenLogprob(" jane") + "," + tokenLogprob(".doe") + "," + tokenLogprob("@example") + ","
                + tokenLogprob(".com") + "],'refusal':null}"));

        // -- the Responses API: its metadata is a map of strings
        whole("responses-meta", "{'id':'resp_mn','object':'response','created_at':1764000000,'status':'completed',"
                + "'model':'mn-model','output':[{'type':'message','id':'msg_mn','status':'completed','role':'assistant',"
                + "'content':[{'type':'output_text','text':'Done.','annotations':[]}]}],"
                + "'metadata':{'" + EMAIL + "':'owner','" + SSN + "':'ssn','" + PHONE + "':'phone'},"
                + "'usage':{'input_tokens':5,'output_tokens':1,'total_tokens':6}}");

        // ---- streams ----
        sse("s-legacy-top",
                legacyChunk(" Hello", "{'tokens':[' Hello'],'token_logprobs':[-0.1],'top_logprobs':[{' Hello':-0.1,'"
                        + EMAIL + "':-2.5,'" + SSN + "':-3.0}],'text_offset':[0]}", "null"),
                legacyChunk(" there", "{'tokens':[' there'],'token_logprobs':[-0.2],'top_logprobs':[{' there':-0.2,'"
                        + CARD + "':-2.0,'" + IBAN + "':-4.0,'" + PHONE + "':-5.0}],'text_offset':[6]}", "null"),
                legacyChunk(".", "{'tokens':['.'],'token_logprobs':[-0.3],'top_logprobs':[{'.':-0.3,'jane.doe\\u0040"
                        + "example.com':-1.0}],'text_offset':[12]}", "'stop'"));
        List<String> toks = List.of("Mail", " jane", ".doe", "@example", ".com", " now");
        String[] legacyTokenEvents = new String[toks.size()];
        for (int i = 0; i < toks.size(); i++) {
            legacyTokenEvents[i] = legacyChunk(toks.get(i), "{'tokens':['" + toks.get(i) + "'],'token_logprobs':[-0.1],"
                    + "'top_logprobs':[{'" + toks.get(i) + "':-0.1,'alt':-3.0}],'text_offset':[" + i + "]}",
                    i == toks.size() - 1 ? "'stop'" : "null");
        }
        sse("s-legacy-tokens", legacyTokenEvents);

        sse("s-chat",
                chunk("{'role':'assistant','content':''}", "null", ""),
                chunk("{'content':'Hi'}", "{'content':[" + tokenLogprob("Hi", "Hi", "Hi", EMAIL, EMAIL, "x", CARD)
                        + "],'refusal':null}", ",'x_scores':{'" + EMAIL + "':1,'" + SSN + "':2}"),
                chunk("{'content':'!'}", "{'content':[" + tokenLogprob("!", "!", "!", IBAN, IBAN) + "],'refusal':null,'"
                        + PHONE + "':1}", ",'x_scores':{'" + CARD + "':3,'jane.doe\\u0040example.com':4}"),
                chunk("{}", "null", ",'usage':{'prompt_tokens':5,'completion_tokens':2,'total_tokens':7,'" + EMAIL3
                        + "':1}").replace("'finish_reason':null", "'finish_reason':'stop'"));
        String[] chatTokenEvents = new String[toks.size() + 1];
        for (int i = 0; i < toks.size(); i++) {
            chatTokenEvents[i] = chunk("{'content':'" + toks.get(i) + "'}", "{'content':[" + tokenLogprob(toks.get(i),
                    toks.get(i), toks.get(i)) + "],'refusal':null}", "");
        }
        chatTokenEvents[toks.size()] = chunk("{}", "null", "").replace("'finish_reason':null", "'finish_reason':'stop'");
        sse("s-chat-tokens", chatTokenEvents);
        // one try: an address cut between a name in one event and the same object's name in the next
        sse("s-split-name",
                chunk("{'role':'assistant','content':'A'}", "null", ",'x_tags':{'jane.d':1}"),
                chunk("{'content':'B'}", "null", ",'x_tags':{'oe@exa':2}"),
                chunk("{'content':'C'}", "null", ",'x_tags':{'mple.com':3}"),
                chunk("{}", "null", "").replace("'finish_reason':null", "'finish_reason':'stop'"));
        // another event stream (Anthropic-like): a text split across events under a name that is masked
        sse("s-generic",
                "{'type':'content_block_delta','index':0,'by':{'" + EMAIL + "':{'text':'card 4111 1111'}}}",
                "{'type':'content_block_delta','index':0,'by':{'" + EMAIL + "':{'text':' 1111 1111 ok'}}}",
                "{'type':'message_delta','x_meta':{'" + SSN + "':1},'delta':{'stop_reason':'end_turn'}}",
                "{'type':'message_stop'}");
        sse("s-responses",
                "event: response.created\ndata: {'type':'response.created','sequence_number':0,'response':{'id':'resp_mn',"
                        + "'object':'response','status':'in_progress','model':'mn-model','output':[],'metadata':{'"
                        + EMAIL + "':'owner'}}}\n\n",
                "event: response.output_text.delta\ndata: {'type':'response.output_text.delta','sequence_number':1,"
                        + "'item_id':'msg_mn','output_index':0,'content_index':0,'delta':'Done.'}\n\n",
                "event: response.completed\ndata: {'type':'response.completed','sequence_number':2,'response':{"
                        + "'id':'resp_mn','object':'response','status':'completed','model':'mn-model','output':[{"
                        + "'type':'message','id':'msg_mn','status':'completed','role':'assistant','content':[{"
                        + "'type':'output_text','text':'Done.','annotations':[]}]}],'metadata':{'" + EMAIL + "':'owner','"
                        + SSN + "':'ssn'}}}\n\n");
        ndjson("ndjson",
                "{'model':'mn-model','message':{'role':'assistant','content':'Hi '},'x_meta':{'" + EMAIL + "':0.9,'"
                        + SSN + "':0.1},'done':false}",
                "{'model':'mn-model','message':{'role':'assistant','content':'there'},'by':{'" + EMAIL2
                        + "':{'content':'card 4111 1111'}},'done':false}",
                "{'model':'mn-model','message':{'role':'assistant','content':'.'},'by':{'" + EMAIL2
                        + "':{'content':' 1111 1111 end'}},'done':false}",
                "{'model':'mn-model','done':true,'x_meta':{'" + IBAN + "':1,'jane.doe\\u0040example.com':2}}");

        // -- a repeated name makes the body text to the masker: an escaped name must still be found
        whole("dup-escaped-value", chat(",'x_note':'a','x_note':'mail jane.doe\\u0040example.com'", "", "Hello",
                "null"));
        whole("dup-escaped", chat(",'x_note':'a','x_note':'b','x_scores':{'jane.doe\\u0040example.com':1,'"
                + "\\u0035\\u0033\\u0036-90-4399':2}", "", "Hello", "null"));
        sse("s-dup-escaped",
                chunk("{'role':'assistant','content':'Hi'}", "null", ",'x_note':'a','x_note':'b',"
                        + "'x_scores':{'jane.doe\\u0040example.com':1,'\\u0035\\u0033\\u0036-90-4399':2}"),
                chunk("{}", "null", "").replace("'finish_reason':null", "'finish_reason':'stop'"));
        // -- bodies a lenient reader still takes as JSON: trailing data (Jackson, so the OpenAI Java SDK, ignores it),
        // a byte order mark, and UTF-16 as the Content-Type declares it
        whole("trailing-escaped", chat(",'x_scores':{'jane.doe\\u0040example.com':1,'\\u0035\\u0033\\u0036-90-4399':2}",
                "", "Hello", "null") + "\n]");
        whole("bom-escaped", "\uFEFF" + chat(",'x_scores':{'jane.doe\\u0040example.com':1,'\\u0035\\u0033\\u0036-90-4399':2}",
                "", "Hello", "null"));
        sse("s-trailing-escaped",
                chunk("{'role':'assistant','content':'Hi'}", "null", ",'x_scores':{'jane.doe\\u0040example.com':1,"
                        + "'\\u0035\\u0033\\u0036-90-4399':2}") + " ]",
                chunk("{}", "null", "").replace("'finish_reason':null", "'finish_reason':'stop'"));
        whole("utf16", 200, "application/json; charset=UTF-16", chat(",'x_scores':{'" + EMAIL + "':1,'" + SSN + "':2}", "",
                "Hello", "null"));
        // -- an entity at the end of a very long name (100,000 characters before it)
        String longName = "note ".repeat(20_000) + EMAIL;
        whole("long-name", chat(",'x_scores':{'" + longName + "':1,'ok':2}", "", "Hello", "null"));
        sse("s-long-name",
                chunk("{'role':'assistant','content':'Hi'}", "null", ",'x_scores':{'" + longName + "':1,'ok':2}"),
                chunk("{}", "null", "").replace("'finish_reason':null", "'finish_reason':'stop'"));
        // -- a name below 1,100 levels of nesting (deeper than common JSON readers' default limit of 1,000)
        String deep = "{'a':".repeat(1100) + "{'" + EMAIL + "':1,'ok':2}" + "}".repeat(1100);
        whole("deep-name", chat(",'x_deep':" + deep, "", "Hello", "null"));
        sse("s-deep-name",
                chunk("{'role':'assistant','content':'Hi'}", "null", ",'x_deep':" + deep),
                chunk("{}", "null", "").replace("'finish_reason':null", "'finish_reason':'stop'"));
        // -- 3,000 names that all mask alike
        StringBuilder lots = new StringBuilder();
        for (int i = 0; i < 3000; i++) {
            lots.append(i == 0 ? "" : ",").append("'p").append(i).append(".q@example.com':").append(i);
        }
        whole("many-names", chat(",'x_many':{" + lots + "}", "", "Hello", "null"));

        // ---- a secret only in a name: the suite's rules block SECRET ----
        whole("b-chat", chat(",'x_scores':{'" + SECRET + "':1,'ok':2}", "", "Hello", "null"));
        whole("b-chat-escaped", chat(",'x_scores':{'AKIA\\u0051X4MZ7PL2WN8RT3K':1}", "", "Hello", "null"));
        whole("b-legacy", legacy(" Hello", "{'tokens':[' Hello'],'token_logprobs':[-0.1],'top_logprobs':[{' Hello':-0.1,'"
                + SECRET + "':-2.0}],'text_offset':[0]}"));
        sse("b-s-chat",
                chunk("{'role':'assistant','content':'Hel'}", "null", ""),
                chunk("{'content':'lo'}", "null", ",'x_scores':{'" + SECRET + "':1}"),
                chunk("{}", "null", "").replace("'finish_reason':null", "'finish_reason':'stop'"));
        sse("b-s-legacy",
                legacyChunk(" Hello", "{'tokens':[' Hello'],'token_logprobs':[-0.1],'top_logprobs':[{' Hello':-0.1,'"
                        + SECRET + "':-2.0}],'text_offset':[0]}", "null"),
                legacyChunk(".", "null", "'stop'"));
        ndjson("b-ndjson",
                "{'model':'mn-model','message':{'role':'assistant','content':'Hi'},'done':false}",
                "{'model':'mn-model','message':{'role':'assistant','content':'.'},'x_meta':{'" + SECRET + "':1},'done':false}",
                "{'model':'mn-model','done':true}");
    }

    static String mathBold(String s) {
        StringBuilder b = new StringBuilder();
        s.chars().forEach(c -> {
            if (c >= '0' && c <= '9') {
                b.appendCodePoint(0x1D7CE + c - '0');
            } else {
                b.append((char) c);
            }
        });
        return b.toString();
    }

    /** Every character as a JSON escape, supplementary ones as escaped surrogate pairs. */
    static String escapeAll(String s) {
        StringBuilder b = new StringBuilder();
        for (char c : s.toCharArray()) {
            b.append(String.format("\\u%04x", (int) c));
        }
        return b.toString();
    }

    static final Pattern CASE = Pattern.compile("case:([a-z0-9-]+)");

    static void serve(HttpExchange ex) throws IOException {
        try (ex) {
            String req = new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
            Matcher m = CASE.matcher(req);
            Reply r = m.find() ? REPLIES.get(m.group(1)) : null;
            if (r == null) {
                byte[] b = "{\"error\":{\"message\":\"unknown case\"}}".getBytes(StandardCharsets.UTF_8);
                ex.getResponseHeaders().set("Content-Type", "application/json");
                ex.sendResponseHeaders(404, b.length);
                ex.getResponseBody().write(b);
                return;
            }
            if (r.contentType() != null) {
                ex.getResponseHeaders().set("Content-Type", r.contentType());
            }
            OutputStream out = ex.getResponseBody();
            if (r.stream()) {
                ex.getResponseHeaders().set("Cache-Control", "no-cache");
                ex.sendResponseHeaders(r.status(), 0);
                for (String piece : r.pieces()) {
                    out.write(piece.getBytes(r.charset()));
                    out.flush();
                }
            } else {
                byte[] b = r.pieces().get(0).getBytes(r.charset());
                ex.sendResponseHeaders(r.status(), b.length);
                out.write(b);
            }
        }
    }

    // ---- calling the gateway ---------------------------------------------------------------------------------------

    static String request(String path, String name, boolean stream) {
        String s = stream ? "'stream':true," : "";
        if (path.endsWith("/completions") && !path.endsWith("/chat/completions")) {
            return q("{'model':'mn-model'," + s + "'logprobs':5,'prompt':'case:" + name + "'}");
        }
        if (path.endsWith("/responses")) {
            return q("{'model':'mn-model'," + s + "'input':'case:" + name + "'}");
        }
        return q("{'model':'mn-model'," + s + "'logprobs':true,'top_logprobs':3,'messages':[{'role':'user',"
                + "'content':'case:" + name + "'}]}");
    }

    static final String CHAT = "/llm/v1/chat/completions";
    static final String LEGACY = "/llm/v1/completions";
    static final String RESPONSES = "/llm/v1/responses";

    /** Sends a call and keeps every byte that arrived, even if the stream is cut. */
    static Got call(int port, String path, String rid, String name, boolean stream) throws Exception {
        if (port == shippedPort) {
            SHIPPED_CALLS.add(rid);
        }
        HttpResponse<InputStream> r;
        try {
            r = E2E.HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                    .timeout(Duration.ofSeconds(60)).header("Authorization", "Bearer " + stack().userToken("alice"))
                    .header("Content-Type", "application/json").header("X-Request-Id", rid)
                    .POST(HttpRequest.BodyPublishers.ofString(request(path, name, stream))).build(),
                    HttpResponse.BodyHandlers.ofInputStream());
        } catch (IOException refused) {
            return new Got(-1, "", "", true);
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        boolean cut = false;
        try (InputStream in = r.body()) {
            byte[] buf = new byte[4096];
            int n;
            while ((n = in.read(buf)) >= 0) {
                out.write(buf, 0, n);
            }
        } catch (IOException e) {
            cut = true;
        }
        // decoded as a client does: by the charset the answer declares (java.net.http's ofString does this)
        String type = r.headers().firstValue("Content-Type").orElse("");
        Matcher cs = CHARSET.matcher(type);
        return new Got(r.statusCode(), type, out.toString(cs.find() ? java.nio.charset.Charset.forName(cs.group(1))
                : StandardCharsets.UTF_8), cut);
    }

    static String rid(String name) {
        return "member-names-" + name + "-" + java.util.UUID.randomUUID();
    }

    // ---- what the caller got: views, parsing, leaks ------------------------------------------------------------------

    /** One level of JSON string unescaping over the whole text, as a client's parser would do it. */
    static String unescape(String s) {
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c != '\\' || i + 1 >= s.length()) {
                b.append(c);
                continue;
            }
            char n = s.charAt(i + 1);
            switch (n) {
                case 'u' -> {
                    if (i + 5 < s.length() && s.substring(i + 2, i + 6).matches("[0-9a-fA-F]{4}")) {
                        b.append((char) Integer.parseInt(s.substring(i + 2, i + 6), 16));
                        i += 5;
                    } else {
                        b.append(c);
                    }
                }
                case 'n' -> { b.append('\n'); i++; }
                case 't' -> { b.append('\t'); i++; }
                case 'r' -> { b.append('\r'); i++; }
                case 'b' -> { b.append('\b'); i++; }
                case 'f' -> { b.append('\f'); i++; }
                case '/', '"', '\\' -> { b.append(n); i++; }
                default -> b.append(c);
            }
        }
        return b.toString();
    }

    /** NFKC, format characters removed, every Unicode space a space and every dash a hyphen-minus. */
    static String fold(String s) {
        String n = Normalizer.normalize(s, Normalizer.Form.NFKC);
        StringBuilder b = new StringBuilder(n.length());
        n.codePoints().forEach(cp -> {
            int type = Character.getType(cp);
            if (type == Character.FORMAT) {
                return;
            }
            if (type == Character.SPACE_SEPARATOR) {
                b.append(' ');
            } else if (type == Character.DASH_PUNCTUATION || cp == 0x2212) {
                b.append('-');
            } else {
                b.appendCodePoint(cp);
            }
        });
        return b.toString();
    }

    static String compact(String s) {
        StringBuilder b = new StringBuilder();
        s.codePoints().filter(Character::isLetterOrDigit).forEach(b::appendCodePoint);
        return b.toString();
    }

    /** The JSON documents of what was received: the body, every SSE data event, or every NDJSON line. */
    static List<JsonNode> documents(Got g, boolean strict) {
        List<String> texts = new ArrayList<>();
        String t = g.text();
        if (t.contains("data:") && (g.contentType().startsWith("text/event-stream") || t.startsWith("data:")
                || t.startsWith("event:"))) {
            for (String line : t.split("\r\n|\r|\n")) {
                if (line.startsWith("data:")) {
                    String d = line.substring(5).strip();
                    if (!d.equals("[DONE]") && !d.isEmpty()) {
                        texts.add(d);
                    }
                }
            }
        } else if (g.contentType().startsWith("application/x-ndjson")) {
            for (String line : t.split("\n")) {
                if (!line.isBlank()) {
                    texts.add(line);
                }
            }
        } else if (!t.isBlank()) {
            texts.add(t);
        }
        List<JsonNode> docs = new ArrayList<>();
        for (String s : texts) {
            try {
                docs.add(STRICT.readTree(s));
            } catch (IOException e) {
                if (strict) {
                    throw new AssertionError("not JSON (or a repeated member name, which loses a value): "
                            + e.getMessage().lines().findFirst().orElse("") + " in " + s, e);
                }
            }
        }
        return docs;
    }

    /**
     * Every view of the received text that a caller can reach: as received, JSON-unescaped, folded (NFKC), compact;
     * the decoded {@code bytes} arrays; and, across documents in order, the member names of each object field, the
     * first names of each array of objects, and the string values of each field, joined.
     */
    static Map<String, String> views(Got g) {
        Map<String, String> v = new LinkedHashMap<>();
        v.put("as received", g.text());
        String un = unescape(g.text());
        v.put("JSON-unescaped", un);
        v.put("folded (NFKC, spaces, dashes)", fold(un));
        v.put("compact", compact(fold(un)));
        Map<String, StringBuilder> joins = new LinkedHashMap<>();
        for (JsonNode d : documents(g, false)) {
            walk("", d, joins);
        }
        joins.forEach((k, b) -> v.put(k, b.toString()));
        return v;
    }

    static void walk(String field, JsonNode n, Map<String, StringBuilder> joins) {
        if (n.isObject()) {
            StringBuilder names = joins.computeIfAbsent("names of " + field + " joined", k -> new StringBuilder());
            Iterator<Map.Entry<String, JsonNode>> it = n.fields();
            while (it.hasNext()) {
                Map.Entry<String, JsonNode> e = it.next();
                names.append(e.getKey());
                walk(e.getKey(), e.getValue(), joins);
            }
        } else if (n.isArray()) {
            if (field.equals("bytes")) {
                ByteArrayOutputStream b = new ByteArrayOutputStream();
                n.forEach(x -> b.write(x.asInt()));
                joins.computeIfAbsent("bytes decoded, joined", k -> new StringBuilder())
                        .append(b.toString(StandardCharsets.UTF_8));
            }
            for (JsonNode x : n) {
                if (x.isObject() && x.size() > 0) {
                    joins.computeIfAbsent("first names in " + field + "[] joined", k -> new StringBuilder())
                            .append(x.fieldNames().next());
                }
                walk(field, x, joins);
            }
        } else if (n.isTextual()) {
            joins.computeIfAbsent("values of " + field + " joined", k -> new StringBuilder()).append(n.asText());
        }
    }

    /** Every raw entity form found in the text, with where and the bytes around it. */
    static List<String> leaksIn(String where, String text) {
        List<String> found = new ArrayList<>();
        boolean compactView = where.equals("compact");
        for (String form : compactView ? COMPACT_FORMS : FORMS) {
            int at = text.indexOf(form);
            if (at >= 0) {
                found.add(where + ": \"" + form + "\" in \u00AB" + around(text, at, form.length()) + "\u00BB");
            }
        }
        if (!compactView) {
            for (Pattern p : List.of(EMAIL_SHAPE, AWS_SHAPE)) {
                Matcher m = p.matcher(text);
                while (m.find()) {
                    found.add(where + ": " + (p == AWS_SHAPE ? "AWS key" : "e-mail") + " \"" + m.group() + "\" in \u00AB"
                            + around(text, m.start(), m.group().length()) + "\u00BB");
                }
            }
        }
        return found;
    }

    static String around(String text, int at, int len) {
        return text.substring(Math.max(0, at - 40), Math.min(text.length(), at + len + 40)).replace("\n", "\\n");
    }

    static List<String> leaks(Got g) {
        List<String> found = new ArrayList<>();
        views(g).forEach((where, text) -> found.addAll(leaksIn(where, text)));
        return found;
    }

    static void assertNoLeak(String name, Got g) {
        List<String> found = leaks(g);
        VERDICTS.merge(name, found.isEmpty() ? "held (status " + g.status() + ")" : "LEAKED (status " + g.status()
                + ") " + found, (a, b) -> a.startsWith("LEAKED") ? a : b);
        assertThat(found).as("[%s] raw entities the caller received (status %d, %s):%n%s", name, g.status(),
                g.contentType(), g.text()).isEmpty();
    }

    static void assertNoLeak(String name, String what, String text) {
        List<String> found = new ArrayList<>();
        String un = unescape(text);
        found.addAll(leaksIn("as stored", text));
        found.addAll(leaksIn("JSON-unescaped", un));
        found.addAll(leaksIn("folded (NFKC, spaces, dashes)", fold(un)));
        if (!found.isEmpty()) {
            VERDICTS.merge(name + " (" + what + ")", "LEAKED " + found, (a, b) -> a);
        }
        assertThat(found).as("[%s] raw entities in %s: %s", name, what, text).isEmpty();
    }

    static JsonNode one(Got g) {
        List<JsonNode> docs = documents(g, true);
        assertThat(docs).as("one JSON document: %s", g.text()).hasSize(1);
        return docs.get(0);
    }

    /** An object of n members whose values, in order, are these (names may be masked, values may not be lost). */
    static void assertMembers(String name, JsonNode object, Object... values) {
        assertThat(object.isObject()).as("[%s] an object: %s", name, object).isTrue();
        List<String> got = new ArrayList<>();
        object.fields().forEachRemaining(e -> got.add(e.getValue().isTextual() ? e.getValue().asText()
                : e.getValue().toString()));
        List<String> want = new ArrayList<>();
        for (Object v : values) {
            want.add(String.valueOf(v));
        }
        assertThat(got).as("[%s] the values of %s, in order", name, object).containsExactlyElementsOf(want);
    }

    // ---- evidence --------------------------------------------------------------------------------------------------

    static Map<String, Object> terminal(String rid) {
        await().atMost(Duration.ofSeconds(20)).until(() -> {
            Map<String, Object> row = evidence(rid);
            return row != null && "terminal".equals(row.get("state"));
        });
        try {
            return evidence(rid);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** The record: its outcome, a masking report naming these types (or these words) and no raw entity. */
    static Map<String, Object> recorded(String name, String rid, String outcome, String... reportMentions) {
        Map<String, Object> row = terminal(rid);
        assertThat(row.get("outcome")).as("[%s] outcome", name).isEqualTo(outcome);
        String report = (String) row.get("masking_report");
        assertThat(report).as("[%s] masking_report", name).isNotNull();
        for (String m : reportMentions) {
            String[] any = m.split("\\|");
            assertThat(java.util.Arrays.stream(any).anyMatch(report::contains))
                    .as("[%s] masking_report mentions one of %s: %s", name, List.of(any), report).isTrue();
        }
        assertNoLeak(name, "masking_report", report);
        byte[] delivered = (byte[]) row.get("response_body");
        if (delivered != null) {
            assertNoLeak(name, "evidence response_body", new String(delivered, StandardCharsets.UTF_8));
        }
        return row;
    }

    static String type(String t) {
        return "\"entity_type\":\"" + t + "\"";
    }

    // ---- the checks' own checks: each can fail ------------------------------------------------------------------------

    @Test
    @Order(1)
    void should_have_checks_that_fail_on_a_leak_a_lost_value_and_a_repeated_name() {
        for (String leaked : List.of("{\"x\":{\"" + EMAIL + "\":1}}", "{\"x\":{\"jane.doe\\u0040example.com\":1}}",
                "{\"x\":{\"jane.doe\uFF20example.com\":1}}", "{\"x\":{\"4111\\u00a01111\\u00a01111\\u00a01111\":1}}",
                "{\"tokens\":[\"4111\",\" 1111\",\" 1111\",\" 1111\"]}", "{\"bytes\":" + bytes(SSN) + "}",
                "{\"top_logprobs\":[{\" jane\":1},{\".doe\":2}]}", "{\"x\":{\"AKIA\\u0051X4MZ7PL2WN8RT3K\":1}}",
                "{\"x_tags\":{\"jane.d\":1}}\n{\"x_tags\":{\"oe@exa\":2}}\n{\"x_tags\":{\"mple.com\":3}}")) {
            Got g = new Got(200, "application/x-ndjson", leaked, false);
            assertThat(leaks(g)).as(leaked).isNotEmpty();
        }
        Got clean = new Got(200, "application/json", "{\"x\":{\"[EMAIL]\":1,\"[CARD ****1111]\":2,\"[SSN]\":3}}", false);
        assertThat(leaks(clean)).isEmpty();
        assertThatThrownBy(() -> documents(new Got(200, "application/json", "{\"a\":1,\"a\":2}", false), true))
                .isInstanceOf(AssertionError.class);
        assertThatThrownBy(() -> assertMembers("self", STRICT.readTree("{\"[EMAIL]\":1}"), 1, 2))
                .isInstanceOf(AssertionError.class);
    }

    // ---- arbitrary objects ------------------------------------------------------------------------------------------

    @Test
    void should_mask_names_at_every_level_of_a_chat_completion_and_keep_every_value() throws Exception {
        String rid = rid("meta");
        Got g = call(shippedPort, CHAT, rid, "meta", false);
        assertThat(g.status()).as(g.text()).isEqualTo(200);
        assertNoLeak("meta", g);
        JsonNode d = one(g);
        assertMembers("meta", d.path("x_scores"), 0.9, 0.1, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8);
        assertThat(d.path("x_scores").has("plain name")).as("a clean name is left alone").isTrue();
        assertThat(d.size()).as("root members").isEqualTo(8);
        assertThat(d.path("choices").path(0).path("message").path("x_owner").size()).isEqualTo(1);
        assertMembers("meta usage", d.path("usage"), 5, 1, 6, 3);
        assertThat(d.at("/choices/0/message/content").asText()).isEqualTo("Hello");
        Map<String, Object> row = recorded("meta", rid, "completed", type("EMAIL"), type("SSN"), type("IBAN"),
                type("PHONE"), type("CARD"), type("SECRET"), type("IP_ADDRESS"), "/x_scores/");
        assertThat(row.get("masking_rule_set")).isEqualTo("default");
    }

    @Test
    void should_mask_names_in_nested_objects_and_arrays_of_objects() throws Exception {
        String rid = rid("nested");
        Got g = call(shippedPort, CHAT, rid, "nested", false);
        assertThat(g.status()).as(g.text()).isEqualTo(200);
        assertNoLeak("nested", g);
        JsonNode x = one(g).path("x_data");
        assertThat(x.size()).isEqualTo(4);
        JsonNode person = x.path("people");
        assertThat(person.size()).isEqualTo(1);
        JsonNode account = person.elements().next();
        assertThat(account.size()).isEqualTo(1);
        assertMembers("nested leaf", account.elements().next(), 1, true);
        assertMembers("nested row 0", x.path("rows").path(0), 1, 2);
        assertMembers("nested row 1", x.path("rows").path(1), "call");
        JsonNode deep = x.path("deep").path(0).path(0);
        assertThat(deep.size()).isEqualTo(1);
        assertMembers("nested deep leaf", deep.elements().next().path(0), "null");
        assertMembers("nested mixed", x.path("mixed"), "x");
        recorded("nested", rid, "completed", type("EMAIL"), type("IBAN"), type("SSN"), type("CARD"), type("PHONE"),
                type("IP_ADDRESS"));
    }

    @Test
    void should_keep_every_member_when_names_mask_alike() throws Exception {
        String rid = rid("collide");
        Got g = call(shippedPort, CHAT, rid, "collide", false);
        assertThat(g.status()).as(g.text()).isEqualTo(200);
        assertNoLeak("collide", g);
        JsonNode d = one(g); // strict: a repeated name fails here
        assertMembers("collide", d.path("x_scores"), 1, 2, 3, 4, 5, 6, 7, 8);
        Object[] many = new Object[40];
        for (int i = 0; i < 40; i++) {
            many[i] = i;
        }
        assertMembers("collide many", d.path("x_many"), many);
        recorded("collide", rid, "completed", type("EMAIL"), type("CARD"));
    }

    @Test
    void should_mask_names_written_with_json_escapes() throws Exception {
        String rid = rid("escaped");
        Got g = call(shippedPort, CHAT, rid, "escaped", false);
        assertThat(g.status()).as(g.text()).isEqualTo(200);
        assertNoLeak("escaped", g);
        assertMembers("escaped", one(g).path("x_scores"), 1, 2, 3, 4, 5, 6, 7, 8);
        assertThat(one(g).path("x_scores").has("path/to")).as("a clean escaped name is left alone").isTrue();
        recorded("escaped", rid, "completed", type("EMAIL"), type("CARD"), type("SSN"), type("IBAN"), type("PHONE"));
    }

    @Test
    void should_mask_names_in_unicode_forms() throws Exception {
        String rid = rid("unicode");
        Got g = call(shippedPort, CHAT, rid, "unicode", false);
        assertThat(g.status()).as(g.text()).isEqualTo(200);
        assertNoLeak("unicode", g);
        assertMembers("unicode", one(g).path("x_scores"), 1, 2, 3, 4, 5);
        recorded("unicode", rid, "completed", type("EMAIL"), type("SSN"), type("CARD"));
    }

    @Test
    void should_mask_names_in_error_bodies_and_other_json_labels() throws Exception {
        List<String> failures = new ArrayList<>();
        for (String name : List.of("err-400", "ct-problem", "ct-vnd", "ct-text", "ct-none")) {
            String rid = rid(name);
            Got g = call(shippedPort, CHAT, rid, name, false);
            try {
                assertNoLeak(name, g);
                if (g.status() == 200 || g.status() == 400) {
                    JsonNode d = one(g);
                    JsonNode map = name.startsWith("ct-") && !name.equals("ct-problem") ? d.path("x_scores")
                            : d.at("/error/details");
                    assertThat(map.size()).as("[%s] members of %s", name, map).isEqualTo(2);
                }
                terminal(rid);
                String report = (String) evidence(rid).get("masking_report");
                if (report != null) {
                    assertNoLeak(name, "masking_report", report);
                }
                byte[] delivered = (byte[]) evidence(rid).get("response_body");
                if (delivered != null) {
                    assertNoLeak(name, "evidence response_body", new String(delivered, StandardCharsets.UTF_8));
                }
            } catch (AssertionError e) {
                failures.add(name + ": " + e.getMessage());
            }
        }
        assertThat(failures).as("labels under which a name leaked or a member was lost").isEmpty();
    }

    // ---- legacy completions ---------------------------------------------------------------------------------------

    /** A logprobs field: nulled whole (documented redact_field) or its maps kept with every member. */
    static void assertLogprobsSafe(String name, JsonNode logprobs, int... mapSizes) {
        if (logprobs.isNull() || logprobs.isMissingNode()) {
            return;
        }
        JsonNode top = logprobs.path("top_logprobs");
        assertThat(top.size()).as("[%s] top_logprobs entries: %s", name, logprobs).isEqualTo(mapSizes.length);
        for (int i = 0; i < mapSizes.length; i++) {
            assertThat(top.path(i).size()).as("[%s] members of top_logprobs[%d]: %s", name, i, top.path(i))
                    .isEqualTo(mapSizes[i]);
        }
    }

    @Test
    void should_mask_legacy_top_logprobs_whose_names_are_entities() throws Exception {
        String rid = rid("legacy-top");
        Got g = call(shippedPort, LEGACY, rid, "legacy-top", false);
        assertThat(g.status()).as(g.text()).isEqualTo(200);
        assertNoLeak("legacy-top", g);
        JsonNode c = one(g).path("choices").path(0);
        assertThat(c.path("text").asText()).isEqualTo(" Hello there.");
        assertLogprobsSafe("legacy-top", c.path("logprobs"), 3, 4, 2);
        recorded("legacy-top", rid, "completed", "redact_field|" + type("EMAIL"));
    }

    @Test
    void should_not_give_back_an_address_through_legacy_tokens() throws Exception {
        String rid = rid("legacy-tokens");
        Got g = call(shippedPort, LEGACY, rid, "legacy-tokens", false);
        assertThat(g.status()).as(g.text()).isEqualTo(200);
        assertNoLeak("legacy-tokens", g);
        assertThat(one(g).at("/choices/0/text").asText()).isEqualTo("Mail [EMAIL]");
        recorded("legacy-tokens", rid, "completed", type("EMAIL"));
    }

    @Test
    void should_mask_streamed_legacy_top_logprobs_whose_names_are_entities() throws Exception {
        String rid = rid("s-legacy-top");
        Got g = call(shippedPort, LEGACY, rid, "s-legacy-top", true);
        assertThat(g.status()).as(g.text()).isEqualTo(200);
        assertNoLeak("s-legacy-top", g);
        List<JsonNode> docs = documents(g, true);
        StringBuilder text = new StringBuilder();
        docs.forEach(d -> text.append(d.at("/choices/0/text").asText("")));
        assertThat(text.toString()).isEqualTo(" Hello there.");
        assertThat(g.text()).contains("[DONE]");
        recorded("s-legacy-top", rid, "completed", "redact_field|LOGPROBS|" + type("EMAIL"));
    }

    @Test
    void should_not_give_back_an_address_through_streamed_legacy_tokens() throws Exception {
        String rid = rid("s-legacy-tokens");
        Got g = call(shippedPort, LEGACY, rid, "s-legacy-tokens", true);
        assertThat(g.status()).as(g.text()).isEqualTo(200);
        assertNoLeak("s-legacy-tokens", g);
        StringBuilder text = new StringBuilder();
        documents(g, true).forEach(d -> text.append(d.at("/choices/0/text").asText("")));
        assertThat(text.toString()).isEqualTo("Mail [EMAIL] now");
        recorded("s-legacy-tokens", rid, "completed", type("EMAIL"));
    }

    // ---- chat logprobs --------------------------------------------------------------------------------------------

    @Test
    void should_mask_chat_logprobs_tokens_bytes_and_names_raw_http() throws Exception {
        for (String name : List.of("chat-logprobs", "chat-tokens")) {
            String rid = rid(name);
            Got g = call(shippedPort, CHAT, rid, name, false);
            assertThat(g.status()).as(g.text()).isEqualTo(200);
            assertNoLeak(name, g);
            JsonNode d = one(g);
            if (name.equals("chat-logprobs")) {
                assertThat(d.at("/choices/0/message/content").asText()).isEqualTo("Hi!");
                assertMembers(name, d.path("x_scores"), 1, 2);
                recorded(name, rid, "completed", "redact_field|" + type("EMAIL"), type("IBAN"));
            } else {
                assertThat(d.at("/choices/0/message/content").asText()).isEqualTo("Mail [EMAIL]");
                recorded(name, rid, "completed", type("EMAIL"));
            }
        }
    }

    static OpenAIClient sdk(int port, String rid) {
        SHIPPED_CALLS.add(rid);
        return OpenAIOkHttpClient.builder().baseUrl("http://127.0.0.1:" + port + "/llm/v1")
                .apiKey(stack().userToken("alice")).putHeader("X-Request-Id", rid).maxRetries(0)
                .timeout(Duration.ofSeconds(60)).build();
    }

    static String sdkJson(Object o) {
        try {
            return ObjectMappers.jsonMapper().writeValueAsString(o);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    static String tokensOf(List<ChatCompletionTokenLogprob> list) {
        StringBuilder b = new StringBuilder();
        for (ChatCompletionTokenLogprob t : list) {
            b.append(t.token()).append('\n');
            t.bytes().ifPresent(x -> {
                byte[] raw = new byte[x.size()];
                for (int i = 0; i < raw.length; i++) {
                    raw[i] = (byte) x.get(i).intValue();
                }
                b.append(new String(raw, StandardCharsets.UTF_8)).append('\n');
            });
            t.topLogprobs().forEach(alt -> {
                b.append(alt.token()).append('\n');
                alt.bytes().ifPresent(x -> {
                    byte[] raw = new byte[x.size()];
                    for (int i = 0; i < raw.length; i++) {
                        raw[i] = (byte) x.get(i).intValue();
                    }
                    b.append(new String(raw, StandardCharsets.UTF_8)).append('\n');
                });
            });
        }
        return b.toString();
    }

    @Test
    void should_mask_chat_logprobs_and_names_for_the_openai_sdk() throws Exception {
        String rid = rid("sdk-chat-logprobs");
        ChatCompletion c;
        OpenAIClient client = sdk(shippedPort, rid);
        try {
            c = client.chat().completions().create(ChatCompletionCreateParams.builder().model("mn-model")
                    .addUserMessage("case:chat-logprobs").logprobs(true).topLogprobs(3).build());
        } finally {
            client.close();
        }
        String json = sdkJson(c);
        String tokens = c.choices().get(0).logprobs().flatMap(l -> l.content()).map(MaskingMemberNamesE2EIT::tokensOf)
                .orElse("");
        assertNoLeak("sdk-chat-logprobs", new Got(200, "application/json", json, false));
        assertNoLeak("sdk-chat-logprobs tokens", new Got(200, "text/plain", tokens, false));
        assertThat(c.choices().get(0).message().content()).hasValue("Hi!");
        JsonNode scores = STRICT.readTree(sdkJson(c._additionalProperties().get("x_scores")));
        assertMembers("sdk-chat-logprobs", scores, 1, 2);
        recorded("sdk-chat-logprobs", rid, "completed", "redact_field|" + type("EMAIL"), type("IBAN"));
    }

    @Test
    void should_mask_streamed_chat_logprobs_and_names_for_the_openai_sdk() throws Exception {
        String rid = rid("sdk-s-chat");
        StringBuilder all = new StringBuilder();
        StringBuilder tokens = new StringBuilder();
        StringBuilder text = new StringBuilder();
        List<JsonNode> scores = new ArrayList<>();
        OpenAIClient client = sdk(shippedPort, rid);
        try (StreamResponse<ChatCompletionChunk> s = client.chat()
                .completions().createStreaming(ChatCompletionCreateParams.builder().model("mn-model")
                        .addUserMessage("case:s-chat").logprobs(true).topLogprobs(3).build())) {
            s.stream().forEach(chunk -> {
                all.append(sdkJson(chunk)).append('\n');
                chunk.choices().forEach(ch -> {
                    ch.delta().content().ifPresent(text::append);
                    ch.logprobs().flatMap(ChatCompletionChunk.Choice.Logprobs::content)
                            .ifPresent(l -> tokens.append(tokensOf(l)));
                });
                var x = chunk._additionalProperties().get("x_scores");
                if (x != null) {
                    try {
                        scores.add(STRICT.readTree(sdkJson(x)));
                    } catch (IOException e) {
                        throw new AssertionError(e);
                    }
                }
            });
        } finally {
            client.close();
        }
        assertNoLeak("sdk-s-chat", new Got(200, "application/x-ndjson", all.toString(), false));
        assertNoLeak("sdk-s-chat tokens", new Got(200, "text/plain", tokens.toString(), false));
        assertThat(text.toString()).isEqualTo("Hi!");
        assertThat(scores).hasSize(2);
        assertMembers("sdk-s-chat scores 1", scores.get(0), 1, 2);
        assertMembers("sdk-s-chat scores 2", scores.get(1), 3, 4);
        recorded("sdk-s-chat", rid, "completed", type("EMAIL"), type("CARD"), type("SSN"));
    }

    @Test
    void should_mask_streamed_chat_logprobs_and_names_raw_http() throws Exception {
        for (String name : List.of("s-chat", "s-chat-tokens")) {
            String rid = rid(name);
            Got g = call(shippedPort, CHAT, rid, name, true);
            assertThat(g.status()).as(g.text()).isEqualTo(200);
            assertNoLeak(name, g);
            List<JsonNode> docs = documents(g, true);
            StringBuilder text = new StringBuilder();
            List<JsonNode> scores = new ArrayList<>();
            for (JsonNode d : docs) {
                text.append(d.at("/choices/0/delta/content").asText(""));
                if (d.has("x_scores")) {
                    scores.add(d.path("x_scores"));
                }
            }
            assertThat(g.text()).contains("[DONE]");
            if (name.equals("s-chat")) {
                assertThat(text.toString()).isEqualTo("Hi!");
                assertThat(scores).hasSize(2);
                assertMembers(name + " 1", scores.get(0), 1, 2);
                assertMembers(name + " 2", scores.get(1), 3, 4);
                recorded(name, rid, "completed", type("EMAIL"), type("CARD"), type("SSN"));
            } else {
                assertThat(text.toString()).isEqualTo("Mail [EMAIL] now");
                recorded(name, rid, "completed", type("EMAIL"));
            }
        }
    }

    // ---- other streams ----------------------------------------------------------------------------------------------

    @Test
    void should_mask_a_text_split_across_events_under_a_masked_name() throws Exception {
        String rid = rid("s-generic");
        Got g = call(shippedPort, CHAT, rid, "s-generic", true);
        assertThat(g.status()).as(g.text()).isEqualTo(200);
        assertNoLeak("s-generic", g);
        List<JsonNode> docs = documents(g, true);
        // the gateway may re-frame (release held text in events of its own): compare what a client joins
        StringBuilder text = new StringBuilder();
        for (JsonNode d : docs) {
            if (d.has("by")) {
                assertThat(d.path("by").size()).as("members of %s", d).isEqualTo(1);
                text.append(d.path("by").elements().next().path("text").asText(""));
            }
        }
        assertThat(text.toString()).isEqualTo("card [CARD ****1111] ok");
        assertThat(docs.stream().filter(d -> d.has("x_meta"))).singleElement()
                .satisfies(d -> assertMembers("s-generic x_meta", d.path("x_meta"), 1));
        recorded("s-generic", rid, "completed", type("EMAIL"), type("CARD"), type("SSN"));
    }

    @Test
    void should_mask_names_in_a_responses_answer_and_stream() throws Exception {
        String rid = rid("responses-meta");
        Got g = call(shippedPort, RESPONSES, rid, "responses-meta", false);
        assertThat(g.status()).as(g.text()).isEqualTo(200);
        assertNoLeak("responses-meta", g);
        assertMembers("responses-meta", one(g).path("metadata"), "owner", "ssn", "phone");
        recorded("responses-meta", rid, "completed", type("EMAIL"), type("SSN"), type("PHONE"));

        String sid = rid("s-responses");
        Got s = call(shippedPort, RESPONSES, sid, "s-responses", true);
        assertThat(s.status()).as(s.text()).isEqualTo(200);
        assertNoLeak("s-responses", s);
        List<JsonNode> docs = documents(s, true);
        StringBuilder text = new StringBuilder();
        docs.stream().filter(d -> d.path("type").asText().equals("response.output_text.delta"))
                .forEach(d -> text.append(d.path("delta").asText()));
        assertThat(text.toString()).isEqualTo("Done.");
        assertMembers("s-responses created", docs.stream().filter(d -> d.path("type").asText().equals("response.created"))
                .findFirst().orElseThrow().at("/response/metadata"), "owner");
        assertMembers("s-responses completed", docs.stream().filter(d -> d.path("type").asText()
                .equals("response.completed")).findFirst().orElseThrow().at("/response/metadata"), "owner", "ssn");
        recorded("s-responses", sid, "completed", type("EMAIL"), type("SSN"));
    }

    @Test
    void should_mask_names_in_ndjson_lines() throws Exception {
        String rid = rid("ndjson");
        Got g = call(shippedPort, CHAT, rid, "ndjson", true);
        assertThat(g.status()).as(g.text()).isEqualTo(200);
        assertThat(g.contentType()).startsWith("application/x-ndjson");
        assertNoLeak("ndjson", g);
        List<JsonNode> docs = documents(g, true);
        List<JsonNode> metas = docs.stream().filter(d -> d.has("x_meta")).map(d -> d.path("x_meta")).toList();
        assertThat(metas).hasSize(2);
        assertMembers("ndjson first x_meta", metas.get(0), 0.9, 0.1);
        assertMembers("ndjson last x_meta", metas.get(1), 1, 2);
        StringBuilder content = new StringBuilder();
        StringBuilder by = new StringBuilder();
        for (JsonNode d : docs) {
            content.append(d.at("/message/content").asText(""));
            if (d.has("by")) {
                assertThat(d.path("by").size()).as("members of %s", d).isEqualTo(1);
                by.append(d.path("by").elements().next().path("content").asText(""));
            }
        }
        assertThat(content.toString()).isEqualTo("Hi there.");
        assertThat(by.toString()).isEqualTo("card [CARD ****1111] end");
        recorded("ndjson", rid, "completed", type("EMAIL"), type("SSN"), type("IBAN"), type("CARD"));
    }

    @Test
    void should_mask_an_escaped_name_in_a_body_that_repeats_a_name() throws Exception {
        List<String> failures = new ArrayList<>();
        for (String name : List.of("dup-escaped", "s-dup-escaped")) {
            String rid = rid(name);
            Got g = call(shippedPort, CHAT, rid, name, name.startsWith("s-"));
            try {
                assertThat(g.status()).as(g.text()).isIn(200, 502);
                assertNoLeak(name, g);
                Map<String, Object> row = terminal(rid);
                if (row.get("masking_report") != null) {
                    assertNoLeak(name, "masking_report", (String) row.get("masking_report"));
                }
            } catch (AssertionError e) {
                failures.add(name + ": " + e.getMessage());
            }
        }
        assertThat(failures).as("bodies with a repeated name whose escaped names leaked").isEmpty();
    }

    /** Bodies a lenient reader still takes as JSON, by raw HTTP and by the OpenAI Java SDK (which reads with Jackson). */
    @Test
    void should_mask_names_in_bodies_a_lenient_reader_takes_as_json() throws Exception {
        List<String> failures = new ArrayList<>();
        for (String name : List.of("trailing-escaped", "bom-escaped", "utf16", "dup-escaped")) {
            String rid = rid(name);
            Got g = call(shippedPort, CHAT, rid, name, false);
            try {
                assertNoLeak(name, g);
            } catch (AssertionError e) {
                failures.add(name + " (raw HTTP): " + e.getMessage());
            }
            String sid = rid("sdk-" + name);
            OpenAIClient client = sdk(shippedPort, sid);
            try {
                ChatCompletion c = client.chat().completions().create(ChatCompletionCreateParams.builder()
                        .model("mn-model").addUserMessage("case:" + name).build());
                assertNoLeak("sdk-" + name, new Got(200, "application/json", sdkJson(c), false));
            } catch (AssertionError e) {
                failures.add(name + " (OpenAI SDK): " + e.getMessage());
            } catch (RuntimeException e) {
                VERDICTS.put("sdk-" + name, "held: the SDK refused the answer (" + e.getClass().getSimpleName() + ")");
            } finally {
                client.close();
            }
        }
        for (String name : List.of("s-trailing-escaped", "s-dup-escaped")) {
            Got g = call(shippedPort, CHAT, rid(name), name, true);
            try {
                assertNoLeak(name, g);
            } catch (AssertionError e) {
                failures.add(name + " (raw HTTP): " + e.getMessage());
            }
            String sid = rid("sdk-" + name);
            OpenAIClient client = sdk(shippedPort, sid);
            StringBuilder all = new StringBuilder();
            try (StreamResponse<ChatCompletionChunk> st = client.chat().completions().createStreaming(
                    ChatCompletionCreateParams.builder().model("mn-model").addUserMessage("case:" + name).build())) {
                st.stream().forEach(chunk -> all.append(sdkJson(chunk)).append('\n'));
            } catch (RuntimeException e) {
                VERDICTS.put("sdk-" + name + " parse", "the SDK stopped at " + e.getClass().getSimpleName());
            } finally {
                client.close();
            }
            try {
                assertNoLeak("sdk-" + name, new Got(200, "application/x-ndjson", all.toString(), false));
            } catch (AssertionError e) {
                failures.add(name + " (OpenAI SDK, streamed): " + e.getMessage());
            }
        }
        assertThat(failures).as("bodies a lenient reader takes as JSON whose names leaked").isEmpty();
    }

    /** A control for the test above: the same body shape with the escaped entity in a value, not a name. */
    @Test
    void should_mask_an_escaped_value_in_a_body_that_repeats_a_name() throws Exception {
        String rid = rid("dup-escaped-value");
        Got g = call(shippedPort, CHAT, rid, "dup-escaped-value", false);
        assertThat(g.status()).as(g.text()).isIn(200, 502);
        assertNoLeak("dup-escaped-value (a value, control)", g);
    }

    @Test
    void should_mask_an_entity_at_the_end_of_a_very_long_name() throws Exception {
        List<String> failures = new ArrayList<>();
        for (String name : List.of("long-name", "s-long-name")) {
            String rid = rid(name);
            Got g = call(shippedPort, CHAT, rid, name, name.startsWith("s-"));
            try {
                assertNoLeak(name, g);
                if (g.status() == 200) {
                    JsonNode scores = documents(g, true).get(name.startsWith("s-") ? 0 : 0).path("x_scores");
                    assertMembers(name, scores, 1, 2);
                    recorded(name, rid, "completed", type("EMAIL"));
                } else {
                    VERDICTS.put(name + " status", "refused " + g.status() + " (fail closed)");
                }
            } catch (AssertionError e) {
                failures.add(name + ": " + e.getMessage());
            }
        }
        assertThat(failures).as("long names").isEmpty();
    }

    @Test
    void should_mask_a_name_below_eleven_hundred_levels_of_nesting() throws Exception {
        List<String> failures = new ArrayList<>();
        for (String name : List.of("deep-name", "s-deep-name")) {
            String rid = rid(name);
            Got g = call(shippedPort, CHAT, rid, name, name.startsWith("s-"));
            try {
                assertNoLeak(name, g);
                if (g.status() == 200) {
                    JsonNode leaf = documents(g, true).get(name.startsWith("s-") ? 0 : 0).path("x_deep");
                    for (int i = 0; i < 1100; i++) {
                        leaf = leaf.path("a");
                    }
                    assertMembers(name, leaf, 1, 2);
                    recorded(name, rid, "completed", type("EMAIL"));
                } else {
                    VERDICTS.put(name + " status", "refused " + g.status() + " (fail closed)");
                }
            } catch (AssertionError e) {
                failures.add(name + ": " + e.getMessage());
            }
        }
        assertThat(failures).as("deep names").isEmpty();
    }

    @Test
    void should_keep_three_thousand_names_that_mask_alike() throws Exception {
        String rid = rid("many-names");
        Got g = call(shippedPort, CHAT, rid, "many-names", false);
        assertNoLeak("many-names", g);
        if (g.status() == 200) {
            JsonNode many = one(g).path("x_many");
            assertThat(many.size()).isEqualTo(3000);
            int i = 0;
            for (JsonNode v : many) {
                assertThat(v.asInt()).isEqualTo(i++);
            }
            recorded("many-names", rid, "completed", type("EMAIL"));
        } else {
            VERDICTS.put("many-names status", "refused " + g.status() + " (fail closed)");
            assertThat(g.status()).as(g.text()).isEqualTo(502);
        }
    }

    // ---- block: a secret only in a name ---------------------------------------------------------------------------

    @Test
    void should_refuse_an_answer_whose_only_secret_is_in_a_name() throws Exception {
        List<String> failures = new ArrayList<>();
        for (String[] c : List.of(new String[] {"b-chat", CHAT, "whole"}, new String[] {"b-chat-escaped", CHAT, "whole"},
                new String[] {"b-legacy", LEGACY, "whole"}, new String[] {"b-s-chat", CHAT, "stream"},
                new String[] {"b-s-legacy", LEGACY, "stream"}, new String[] {"b-ndjson", CHAT, "stream"})) {
            String name = c[0];
            String rid = rid(name);
            Got g = call(blockingPort, c[1], rid, name, c[2].equals("stream"));
            try {
                assertNoLeak(name, g);
                if (c[2].equals("whole")) {
                    assertThat(g.status()).as("[%s] %s", name, g.text()).isEqualTo(403);
                    assertThat(g.text()).contains("response_blocked");
                } else {
                    assertThat(g.status() == 403 || !g.text().contains("[DONE]") && !g.text().contains("\"done\":true"))
                            .as("[%s] refused or cut: %s", name, g.text()).isTrue();
                }
                Map<String, Object> row = terminal(rid);
                assertThat(row.get("outcome")).as("[%s] outcome", name).isEqualTo("blocked");
                if (row.get("masking_report") != null) {
                    assertNoLeak(name, "masking_report", (String) row.get("masking_report"));
                }
                VERDICTS.put(name + " refused", "held (status " + g.status() + ", cut " + g.cut() + ")");
            } catch (AssertionError e) {
                VERDICTS.put(name + " refused", "NOT REFUSED: " + e.getMessage());
                failures.add(name + ": " + e.getMessage());
            }
        }
        assertThat(failures).as("answers with a secret only in a name that were not refused").isEmpty();
    }

    // ---- what auditors see and replay ----------------------------------------------------------------------------

    static HttpResponse<String> control(String method, String pathAndQuery, String token) throws Exception {
        return E2E.HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + shippedControl + pathAndQuery))
                .timeout(Duration.ofSeconds(60)).header("Authorization", "Bearer " + token)
                .method(method, HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void should_record_the_redactions_for_auditors_replay_and_reports_without_a_raw_entity() throws Exception {
        String rid = rid("audit");
        Got g = call(shippedPort, CHAT, rid, "meta", false);
        assertThat(g.status()).isEqualTo(200);
        Map<String, Object> row = recorded("audit", rid, "completed", type("EMAIL"), type("SSN"));
        String id = String.valueOf(row.get("id"));
        String carol = stack().userToken("carol");

        HttpResponse<String> timeline = control("GET", "/audit/records/" + id + "/replay", carol);
        assertThat(timeline.statusCode()).as(timeline.body()).isEqualTo(200);
        JsonNode t = E2E.JSON.readTree(timeline.body());
        // the timeline is the auditor's raw view by design (docs/masking.md, "Paths"); it says so, and shows the
        // upstream's raw body: only what was delivered and the masking report must hold no raw entity
        assertThat(t.path("view_masking").asText()).isEqualTo("none: auditor raw view");
        assertThat(t.path("masking").toString()).contains(type("EMAIL"), type("SSN"), type("CARD"), "/x_scores/");
        assertNoLeak("audit replay timeline", "the timeline's masking report", t.path("masking").toString());
        assertNoLeak("audit replay timeline", "the timeline's delivered body", t.at("/delivered/body").asText());

        HttpResponse<String> payload = control("GET", "/audit/records/" + id + "/payload", carol);
        assertThat(payload.statusCode()).as(payload.body()).isEqualTo(200);
        assertNoLeak("audit payload view", "the delivered answer in the payload view",
                E2E.JSON.readTree(payload.body()).path("response").asText());

        HttpResponse<String> replay = control("POST", "/audit/records/" + id + "/replay", stack().userToken("audrey"));
        assertThat(replay.statusCode()).as(replay.body()).isEqualTo(200);
        JsonNode r = E2E.JSON.readTree(replay.body());
        assertThat(r.path("status").asInt()).as(replay.body()).isEqualTo(200);
        assertThat(r.path("digest_match").asBoolean()).as("the replay delivered the same masked answer: %s",
                replay.body()).isTrue();
        assertNoLeak("audit replay answer", "the replay's answer", replay.body());
        recorded("audit replay", r.path("replay_request_id").asText(), "completed", type("EMAIL"), type("SSN"));

        String hour = started.truncatedTo(ChronoUnit.HOURS).toString();
        HttpResponse<String> report = control("GET", "/audit/redactions?upstream=llm&from=" + hour, carol);
        assertThat(report.statusCode()).as(report.body()).isEqualTo(200);
        assertThat(E2E.JSON.readTree(report.body()).path("rows").findValuesAsText("entity_type"))
                .contains("EMAIL", "SSN", "IBAN", "PHONE", "CARD", "SECRET", "IP_ADDRESS");
        assertNoLeak("audit redactions report", "the redactions report", report.body());
    }

    @Test
    @Order(Integer.MAX_VALUE - 1)
    void should_publish_evidence_events_without_a_raw_entity() {
        List<String> rids = List.copyOf(SHIPPED_CALLS);
        assertThat(rids).isNotEmpty();
        await().atMost(Duration.ofSeconds(60)).until(() -> E2E.events().keySet().containsAll(rids));
        Map<String, JsonNode> events = E2E.events();
        List<String> found = new ArrayList<>();
        int withReport = 0;
        for (String rid : rids) {
            String event = events.get(rid).toString();
            found.addAll(leaksIn("event " + rid, event));
            found.addAll(leaksIn("event unescaped " + rid, unescape(event)));
            withReport += event.contains("EMAIL") ? 1 : 0;
        }
        VERDICTS.put("kafka events", found.isEmpty() ? "held (" + rids.size() + " events)" : "LEAKED " + found);
        assertThat(found).as("raw entities in the evidence events on Kafka").isEmpty();
        assertThat(withReport).as("events whose masking report names EMAIL").isGreaterThan(rids.size() / 2);
    }

    // ---- logs -------------------------------------------------------------------------------------------------------

    @Test
    @Order(Integer.MAX_VALUE)
    void should_write_no_entity_from_a_name_into_a_log_line() {
        List<String> found = new ArrayList<>();
        for (String line : stack().logs.lines()) {
            found.addAll(leaksIn("log", line));
            found.addAll(leaksIn("log unescaped", unescape(line)));
        }
        VERDICTS.put("logs", found.isEmpty() ? "held" : "LEAKED " + found);
        assertThat(found).as("raw entities in the gateway's log lines").isEmpty();
    }
}
