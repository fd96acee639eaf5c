package attest.masking;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** Every built-in detector and validator: positives, negatives and look-alikes that must stay clean. */
class DetectorsTest {
    static final MaskingEngine ENGINE = MaskingEngine.builtIn();

    @ParameterizedTest(name = "[{0}] {1}")
    @CsvSource(delimiter = '|', textBlock = """
            CARD       | pay with 4111111111111111 today                  | 4111111111111111
            CARD       | pay with 4111 1111 1111 1111 today               | 4111 1111 1111 1111
            CARD       | pay with 4111-1111-1111-1111 today               | 4111-1111-1111-1111
            CARD       | amex 3782 822463 10005 ok                        | 3782 822463 10005
            CARD       | mastercard 5555555555554444.                      | 5555555555554444
            CARD       | full-width ４１１１１１１１１１１１１１１１ here     | ４１１１１１１１１１１１１１１１
            CARD       | en dash 4111–1111–1111–1111 here                 | 4111–1111–1111–1111
            CARD       | nbsp 4111 1111 1111 1111 here                    | 4111 1111 1111 1111
            CARD       | arabic-indic ٤١١١١١١١١١١١١١١١ here               | ٤١١١١١١١١١١١١١١١
            CARD       | devanagari ४१११ ११११ ११११ ११११ here               | ४१११ ११११ ११११ ११११
            CARD       | soft­hyphen 4111­1111­1111­1111 here              | 4111­1111­1111­1111
            SSN        | ssn 536−90−4399 with minus signs                 | 536−90−4399
            SSN        | my ssn is 536-90-4399 ok                         | 536-90-4399
            SSN        | ssn 536 90 4399                                  | 536 90 4399
            SSN        | social security number 536904399                 | 536904399
            IBAN       | send to DE89370400440532013000 please            | DE89370400440532013000
            IBAN       | iban GB82 WEST 1234 5698 7654 32 thanks          | GB82 WEST 1234 5698 7654 32
            EMAIL      | write to jane.doe@example.com now                | jane.doe@example.com
            EMAIL      | <a.b+tag@sub.example.co.uk>                      | a.b+tag@sub.example.co.uk
            PHONE      | call (415) 555-2671 today                        | (415) 555-2671
            PHONE      | call 415-555-2671 today                          | 415-555-2671
            PHONE      | call +1 415 555 2671 today                       | +1 415 555 2671
            PHONE      | ring +44 20 7946 0958 now                        | +44 20 7946 0958
            PHONE      | e164 +14155552671 ok                             | +14155552671
            PHONE      | uk 020 7946 0958 ok                              | 020 7946 0958
            IP_ADDRESS | from 192.168.10.7 at                             | 192.168.10.7
            IP_ADDRESS | host 2001:db8:85a3::8a2e:370:7334 up             | 2001:db8:85a3::8a2e:370:7334
            IP_ADDRESS | full 2001:0db8:0000:0000:0000:ff00:0042:8329 ok  | 2001:0db8:0000:0000:0000:ff00:0042:8329
            IP_ADDRESS | loopback ::1 here                                | ::1
            CARD       | mc 5116-4863-2980-3416 ok                        | 5116-4863-2980-3416
            CARD       | fw ５１１６－４８６３－２９８０－３４１６ ok          | ５１１６－４８６３－２９８０－３４１６
            CARD       | dots 4111.1111.1111.1111 ok                      | 4111.1111.1111.1111
            CARD       | then 4111 1111 1111 1111 123 cvv                 | 4111 1111 1111 1111
            CARD       | ref 12 4111 1111 1111 1111 ok                    | 4111 1111 1111 1111
            CARD       | 1234 5678 9012 4111 1111 1111 1111 end           | 4111 1111 1111 1111
            CARD       | visa13 4222222222222 ok                          | 4222222222222
            CARD       | discover 6011000990139424 ok                     | 6011000990139424
            CARD       | jcb 3530111333300000 ok                          | 3530111333300000
            CARD       | diners 3622 720627 1667 ok                       | 3622 720627 1667
            CARD       | unionpay 6212345678901265 ok                     | 6212345678901265
            IBAN       | nl NL29ARIA2456163018 ok                         | NL29ARIA2456163018
            IBAN       | nl NL29 ARIA 2456 1630 18 nbsp                     | NL29 ARIA 2456 1630 18
            IBAN       | nl NL29 ARIA 2456 1630 18 thin                   | NL29 ARIA 2456 1630 18
            IBAN       | fw ＮＬ２９ＡＲＩＡ２４５６１６３０１８ ok              | ＮＬ２９ＡＲＩＡ２４５６１６３０１８
            IBAN       | no NO9386011117947 ok                            | NO9386011117947
            IBAN       | lc LC55HEMM000100010012001200023015 ok           | LC55HEMM000100010012001200023015
            IBAN       | ru RU0204452560040702810412345678901 ok          | RU0204452560040702810412345678901
            IBAN       | to DE89 3704 0044 0532 0130 00 BIC COBADEFFXXX   | DE89 3704 0044 0532 0130 00
            PHONE      | fw ＋１８５２４５１４７８４ ok                       | ＋１８５２４５１４７８４
            PHONE      | small ﹢４４ ２０ ７９４６ ０９５８ ok                 | ﹢４４ ２０ ７９４６ ０９５８
            IP_ADDRESS | IP 10.0.0.1. Next                                | 10.0.0.1
            IP_ADDRESS | at (10.0.0.1) ok                                 | 10.0.0.1
            IP_ADDRESS | at 10.0.0.1:8080 ok                              | 10.0.0.1
            IP_ADDRESS | at [2001:db8::1]:443 ok                          | 2001:db8::1
            IP_ADDRESS | mapped ::ffff:192.0.2.1 ok                       | ::ffff:192.0.2.1
            IP_ADDRESS | fw １９２．１６８．１０．７ ok                        | １９２．１６８．１０．７
            SSN        | ssn 536.90.4399 dots                             | 536.90.4399
            SSN        | ssn ５３６－９０－４３９９ fw                        | ５３６－９０－４３９９
            SECRET     | key sk-proj-abcdefghijklmnopqrstuvwxyz012345 x   | sk-proj-abcdefghijklmnopqrstuvwxyz012345
            SECRET     | key sk-ant-api03-abcdefghijklmnopqrstuv x        | sk-ant-api03-abcdefghijklmnopqrstuv
            SECRET     | aws AKIAIOSFODNN7EXAMPLE done                    | AKIAIOSFODNN7EXAMPLE
            SECRET     | gh ghp_abcdefghijklmnopqrstuvwxyz0123456789 x    | ghp_abcdefghijklmnopqrstuvwxyz0123456789
            SECRET     | slack xoxb-1234567890-abcdefghij x               | xoxb-1234567890-abcdefghij
            SECRET     | g AIzaSyA1234567890abcdefghijklmnopqrstuv x      | AIzaSyA1234567890abcdefghijklmnopqrstuv
            SECRET     | stripe sk_live_abcdefghijklmnop1234 x            | sk_live_abcdefghijklmnop1234
            SECRET     | t eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXZhbHVl x | eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXZhbHVl
            """)
    void should_find(String type, String text, String entity) {
        List<Finding> found = ENGINE.scan(text);
        assertThat(found).as("findings in '%s'", text).hasSize(1);
        Finding f = found.get(0);
        assertThat(f.entityType()).isEqualTo(type);
        assertThat(text.substring(f.start(), f.end())).isEqualTo(entity);
    }

    /**
     * Chinese and Japanese write no spaces between words: an entity right after a label's last ideograph or kana
     * and right before CJK punctuation is still a whole entity.
     */
    @ParameterizedTest(name = "[{0}] {1}")
    @CsvSource(delimiter = '|', textBlock = """
            CARD       | カード番号は349683124252696。よろしく             | 349683124252696
            CARD       | カード番号は5434 5865 9288 0432、以上            | 5434 5865 9288 0432
            CARD       | 卡号是4111-1111-1111-1111，谢谢                  | 4111-1111-1111-1111
            IP_ADDRESS | IPは34.91.75.205！                               | 34.91.75.205
            IP_ADDRESS | 地址是2001:db8:85a3::8a2e:370:7334？             | 2001:db8:85a3::8a2e:370:7334
            IBAN       | IBANはFR04 3107 8036 7047 3163 3731 621」です     | FR04 3107 8036 7047 3163 3731 621
            EMAIL      | メールはname+orders@example.com』です             | name+orders@example.com
            PHONE      | 電話番号は415-555-2671）まで                      | 415-555-2671
            SSN        | 社会保障番号は536-90-4399】です                   | 536-90-4399
            SECRET     | キーはAKIAIOSFODNN7EXAMPLE・以上                  | AKIAIOSFODNN7EXAMPLE
            CARD       | 카드번호는4111111111111111。                     | 4111111111111111
            """)
    void should_find_entities_glued_to_cjk_text_and_punctuation(String type, String text, String entity) {
        should_find(type, text, entity);
    }

    @org.junit.jupiter.api.Test
    void should_find_two_cards_written_next_to_each_other() {
        assertThat(ENGINE.scan("cards 4111 1111 1111 1111 5555 5555 5555 4444 on file"))
                .extracting(Finding::entityType).containsExactly("CARD", "CARD");
    }

    @org.junit.jupiter.api.Test
    void should_find_entities_written_next_to_long_numbers() {
        assertThat(ENGINE.scan("ids 536-90-4399 12345678 and (415) 555-2671 4111111111111112 end"))
                .extracting(Finding::entityType).containsExactly("SSN", "PHONE");
    }

    @ParameterizedTest(name = "context: {0}")
    @CsvSource(delimiter = '|', textBlock = """
            SSN 536-90-4399 and order 536904398 shipped       | 1
            SSN 536-90-4399. Order 536904398 shipped          | 1
            My SSN is on file. Order 536904398 shipped        | 0
            social security: jane@example.com 536904398       | 1
            SSN no. 536904398 on file                         | 1
            SSN: 536904398, 536904397                         | 1
            """)
    void should_bind_a_context_word_to_the_candidate_it_precedes_only(String text, int findings) {
        assertThat(ENGINE.scan(text)).as("findings in '%s'", text).hasSize(findings);
    }

    @ParameterizedTest(name = "clean: {0}")
    @CsvSource(delimiter = '|', textBlock = """
            order 4111111111111112 shipped
            order id 1234567890123456 ok
            tracking 9400100000000000000000 ok
            ssn 000-12-3456 invalid area
            ssn 666-12-3456 invalid area
            ssn 900-12-3456 invalid area
            ssn 123-00-4567 invalid group
            ssn 123-45-0000 invalid serial
            ssn 078-05-1120 known sample
            ssn 219-09-9999 known sample
            ssn 111-11-1111 one digit
            number 536-90 4399 mixed delimiters
            order 536904399 without context
            at 2026-11-25T12:00:00Z the job ran
            at 2026-11-25 12:00:00 the job ran
            epoch 1732536000 seconds
            version 1.2.3 released
            version v2.10.4-beta released
            time 12:34:56 today
            mac 00:1a:2b:3c:4d:5e here
            invoice INV-2026-000123 paid
            iban DE89370400440532013001 bad checksum
            ip 999.1.1.1 invalid
            ip 10.0.0.256 invalid
            count 12345678 items
            uuid 3f2504e0-4f89-11d3-9a0c-0305e82c3301 ok
            price 1,234,567.89 USD
            build 1.6.3.7.5 done
            build v10.1.2.3.4 done
            version 1.2.3.4.5 done
            version 1.2.3.4.x done
            version １．２．３．４．５ full-width
            ts 1719557306044 epoch ms
            ts １７１９５５７３０６０４４ full-width epoch ms
            ts 1719557306044123 epoch us
            ts 1719557306044123456 epoch ns
            luhn-valid 1234567812345670 but no network
            luhn-valid 8888888888888888888 but no network
            visa prefix 4111111111111 1111 wrong grouping
            amex length 3782822463100050 wrong length
            serial 123-456-7890 area code 1
            serial 212-056-7890 exchange 0
            uuid 12345678-1234-1234-1234-123456789012 all digits
            isbn 978-3-16-148410-0 ok
            iban NL29ARIA245616301 one short
            code Foo::ab in C++
            path std::vector::at ok
            digits 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 ok
            """)
    void should_leave_look_alikes_alone(String text) {
        assertThat(ENGINE.scan(text)).as("findings in '%s'", text).isEmpty();
    }
}
