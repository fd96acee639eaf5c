package attest.masking;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The classes an outsider's corpus found missing (issue 9): national phone numbers written without '+' as numbering
 * plans define them, bare numbers whose label heads their column (markdown, CSV, SQL), RFC 6531 e-mail addresses,
 * lower-case and dash-grouped IBANs and IBANs holding only their two check digits; each with the look-alikes a
 * detector widened for it must leave alone, and every Unicode form split across 2 and 3 stream pieces.
 */
class OutsiderShapesTest {
    static final MaskingEngine ENGINE = MaskingEngine.builtIn();

    static void finds(String type, String text, String entity) {
        List<Finding> found = ENGINE.scan(text);
        assertThat(found).as("findings in '%s'", text).hasSize(1);
        Finding f = found.get(0);
        assertThat(f.entityType()).as("type in '%s'", text).isEqualTo(type);
        assertThat(text.substring(f.start(), f.end())).isEqualTo(entity);
    }

    @ParameterizedTest(name = "{0}: {1}")
    @CsvSource(delimiter = '|', textBlock = """
            PHONE | mobile: 07449 217990.                          | 07449 217990
            PHONE | Telefon 030 11263419, bitte                     | 030 11263419
            PHONE | Mobil 0155 90714180                             | 0155 90714180
            PHONE | Büro 030/99207200                               | 030/99207200
            PHONE | Tél. 01 34 24 25 22                             | 01 34 24 25 22
            PHONE | portable 07.69.06.64.71 merci                   | 07.69.06.64.71
            PHONE | 電話 03-4202-2431                               | 03-4202-2431
            PHONE |携帯 090-1234-5678                              | 090-1234-5678
            PHONE | bel 06-25311659                                 | 06-25311659
            PHONE | call 070257 26895                               | 070257 26895
            PHONE | phone (02) 5386 3305.                           | (02) 5386 3305
            PHONE | celular (21) 91383-6100                         | (21) 91383-6100
            PHONE | телефон 8 (918) 163-22-36                       | 8 (918) 163-22-36
            PHONE | Rufnummer 0049 30 11441061                      | 0049 30 11441061
            PHONE | tel 0049–30–47096819                            | 0049–30–47096819
            PHONE | 手机号码是13812345678。                          | 13812345678
            PHONE | tel:0415796097                                  | 0415796097
            PHONE | sms sent to=02082392033 ts=1                    | 02082392033
            PHONE | тел. 89161234567                                | 89161234567
            PHONE | Rufnummer: tel:004915172636042, bitte           | 004915172636042
            PHONE | mobile tel:41983276369                          | 41983276369
            PHONE | call 4155552671 now                             | 4155552671
            PHONE | erreichen Sie uns unter 030 76452779 oder       | 030 76452779
            PHONE | 電話番号：０３０７１６７９７８１                  | ０３０７１６７９７８１
            PHONE | 携帯：８ （９１４） ９２４－１１－８０             | ８ （９１４） ９２４－１１－８０
            EMAIL | reply-to jürgen@köln-messe.example.            | jürgen@köln-messe.example
            EMAIL | почта: иван.петров@почта-россии.рф, спасибо    | иван.петров@почта-россии.рф
            EMAIL | 邮箱：用户12@例え.jp。                           | 用户12@例え.jp
            EMAIL | contact mailto:a.b@mail.example.io;            | mailto:a.b@mail.example.io
            EMAIL | δοκιμή@παράδειγμα.ελ ok                         | δοκιμή@παράδειγμα.ελ
            EMAIL | josé90@xn--mller-kva.ch                         | josé90@xn--mller-kva.ch
            IBAN  | IBAN: bh47 ilhi amk9 dco6 dmm3 0p.              | bh47 ilhi amk9 dco6 dmm3 0p
            IBAN  | account BE45-6356-1907-7289.                    | BE45-6356-1907-7289
            IBAN  | IBAN: GI77 XVUW T3DX WKRV ASIF ILS, correo      | GI77 XVUW T3DX WKRV ASIF ILS
            IBAN  | IBAN MD62 BJ0B SMZI 7QCQ 5EC3 IAWE              | MD62 BJ0B SMZI 7QCQ 5EC3 IAWE
            IBAN  | iban de89370400440532013000 ok                  | de89370400440532013000
            IBAN  | IBAN DE89 3704 0044 0532 0130 00 BIC COBADEFF    | DE89 3704 0044 0532 0130 00
            IP_ADDRESS | IPアドレス：2001:0db8:5b7b:753e:c643:1d73:c837:8496。 | 2001:0db8:5b7b:753e:c643:1d73:c837:8496
            """)
    void should_find_the_shape(String type, String text, String entity) {
        finds(type, text, entity);
    }

    @ParameterizedTest(name = "column: {0}")
    @CsvSource(delimiter = '#', textBlock = """
            SSN   # INSERT INTO customers (email, ssn, last_ip) VALUES ('a@b.example', '269859094', '10.1.2.3'); # 269859094
            SSN   # INSERT INTO t (name, social_security_number) VALUES ('Bo', '１２８１３３６８０'); # １２８１３３６８０
            PHONE # | Name | Phone | Ref |\\n|---|---|---|\\n| Sofia | 13846064573 | n/a | # 13846064573
            PHONE # ```csv\\nid,name,iban,phone,updated\\n1,Okafor,n/a,15688510915,x\\n``` # 15688510915
            SSN   # | Name | SSN |\\n|---|---|\\n| Ana | 536904399 |\\n| Bo | 536904398 | # 536904398
            """)
    void should_find_a_bare_value_through_the_name_of_its_column(String type, String text, String entity) {
        List<Finding> found = ENGINE.scan(text.replace("\\n", "\n"));
        assertThat(found.stream().filter(f -> f.entityType().equals(type))
                .map(f -> text.replace("\\n", "\n").substring(f.start(), f.end())).toList()).contains(entity);
    }

    @ParameterizedTest(name = "clean: {0}")
    @CsvSource(delimiter = '#', textBlock = """
            INSERT INTO orders (order_id, ssn_checked) VALUES ('536904399', 'yes');
            | Name | Order |\\n|---|---|\\n| Ana | 536904399 |
            id,ticket,note\\n1,536904399,ok
            ticket,note\\n13812345678,ok
            | Name | Ref |\\n|---|---|\\n| Ana | 13812345678 |
            Sure, here is the SSN, name and date\\nrefs, 536904399
            """)
    void should_leave_a_bare_value_alone_under_a_column_that_is_not_its_label(String text) {
        assertThat(ENGINE.scan(text.replace("\\n", "\n"))).as("findings in '%s'", text).isEmpty();
    }

    @ParameterizedTest(name = "clean: {0}")
    @CsvSource(delimiter = '#', textBlock = """
            Datum 05.11.2023 ok
            date 05/11/2023 ok
            version 0.12.3456.78 ok
            ISBN 0-306-40615-2 ok
            ISBN 0306406152 ok
            order 13812345678 ok
            ref 4155552671 ok
            id 89161234567 ok
            code 0049123 ok
            SSCC 00340434161234567890 ok
            hours 08:00-17:00 ok
            lotto 01 02 03 ok
            Datum 01.02.03.04 ok
            coords 0.123456, 51.507351 ok
            order 0123 456 ok
            BLZ 370 400 44 ok
            Invoice RE-2023/012345 ok
            MAC 00 11 22 33 44 55 ok
            uses 0x1F2E3D4C ok
            ratio 08/15 ok
            id 0012345678 ok
            tracking 9426 5295 7940 4038 3714 27 ok
            IBAN (mistyped, bounced): DE29 5261 0446 3238 2900 77 ok
            invalid IBAN NL10 IXNK 0603 0732 46 ok
            npm i lodash@4.17.21 ok
            image logo@2x.png ok
            image banner@1.5x.jpg ok
            user@localhost ok
            mention @用户12 ok
            host jürgen@köln ok
            iban de89370400440532013001 bad check
            iban de89-3704-0044-0532-0130-00-12 longer run
            plate AB12 CDE ok
            ISIN DE0005140008 ok
            VAT BE0123.456.789 ok
            ref ab12-cd34-ef56-gh78 ok
            """)
    void should_leave_look_alikes_of_the_new_shapes_alone(String text) {
        assertThat(ENGINE.scan(text)).as("findings in '%s'", text).isEmpty();
    }

    /** The new shapes in Unicode forms, split at every point into 2 and 3 stream pieces. */
    static Stream<String> unicodeForms() {
        String fw = "\uFF10\uFF13\uFF10\u3000\uFF11\uFF11\uFF12\uFF16\uFF13\uFF14\uFF11\uFF19"; // ０３０　１１２６３４１９
        return Stream.of(
                fw,
                "07449\u00A0217990",
                "01\u202F34\u202F24\u202F25\u202F22",
                "071623\u201354649",
                "\uFF10\uFF11\uFF0E\uFF16\uFF18\uFF0E\uFF17\uFF16\uFF0E\uFF18\uFF14\uFF0E\uFF14\uFF16",
                "\uFF18\u3000\uFF08\uFF19\uFF11\uFF14\uFF09\u3000\uFF19\uFF12\uFF14\uFF0D\uFF11\uFF11\uFF0D\uFF18\uFF10",
                "8\u2013(948)\u2013542\u201399\u201300",
                "(11)\u201396789\u20134228",
                "0049\u201330\u201347096819",
                "\uFF10\uFF11\uFF15\uFF11\uFF0F\uFF17\uFF14\uFF15\uFF14\uFF11\uFF14\uFF12\uFF12",
                "07533 0\u200B19340",
                "j\u00FCrgen@k\u00F6ln-messe.example",
                "\u0438\u0432\u0430\u043D@\u043F\u043E\u0447\u0442\u0430.\u0440\u0444",
                "bh47 ilhi amk9 dco6 dmm3 0p",
                "GI77\u00A0XVUW\u00A0T3DX\u00A0WKRV\u00A0ASIF\u00A0ILS",
                "IL62\u20090108\u20090000\u20090009\u20099999\u2009999",
                "FR04\u20134330\u20138225\u20132773\u20138133\u20131967\u2013993");
    }

    @ParameterizedTest
    @MethodSource("unicodeForms")
    void should_find_the_new_unicode_forms_split_at_every_point_exactly_as_the_plain_run(String entity) {
        assertThat(ENGINE.scan("phone " + entity + ", ok")).as("plain run finds %s", entity).isNotEmpty();
        StreamingTextMaskerTest.everySplitMatchesThePlainRun("phone ", entity, ", and that is all.");
    }

    @Test
    void should_find_a_bare_value_under_its_column_in_a_stream_split_anywhere() {
        StreamingTextMaskerTest.everySplitMatchesThePlainRun("```csv\nid,name,phone,note\n1,Ana,", "13744492136",
                ",x\n```");
        StreamingTextMaskerTest.everySplitMatchesThePlainRun(
                "INSERT INTO customers (name, ssn) VALUES ('Ana', '", "269859094", "');");
    }
}
