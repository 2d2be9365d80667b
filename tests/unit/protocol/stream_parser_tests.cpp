// Every case runs three ways: the whole input at once, split in two at every byte
// offset, and one byte at a time. All must give the same events.
#include <doctest/doctest.h>

#include <algorithm>
#include <functional>
#include <string>
#include <vector>

#include "protocol/errors.hpp"
#include "protocol/xml/stream_parser.hpp"

using namespace parley::protocol;
using namespace parley::protocol::xml;

namespace {

const std::string header =
    "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
    "xmlns:stream='http://etherx.jabber.org/streams' to='example.org' version='1.0' xml:lang='en'>";
const std::string opened = "open to=example.org from= id= version=1.0 lang=en ns=jabber:client prefix=stream";

bool has_adjacent_text(const Element& el) {
    const auto& c = el.children();
    for (std::size_t i = 0; i < c.size(); ++i) {
        if (i > 0 && c[i].is_text() && c[i - 1].is_text()) return true;
        if (c[i].is_text() && c[i].text_content().empty()) return true;
        if (has_adjacent_text(c[i])) return true;
    }
    return false;
}

struct Recorder : StreamParser::Handler {
    std::vector<std::string> events;
    std::vector<Element> stanzas;
    std::string content_ns;
    std::function<void(const Element&)> stanza_hook;

    void on_stream_open(StreamHeader h) override {
        content_ns = h.content_namespace;
        events.push_back("open to=" + h.to + " from=" + h.from + " id=" + h.id + " version=" + h.version +
                         " lang=" + h.lang + " ns=" + h.content_namespace + " prefix=" + h.stream_prefix);
    }
    void on_stanza(Element stanza) override {
        // Text must arrive merged: one node per run of character data.
        events.push_back((has_adjacent_text(stanza) ? "UNMERGED " : "") + to_string(stanza, content_ns));
        stanzas.push_back(stanza);
        if (stanza_hook) stanza_hook(stanzas.back());
    }
    void on_stream_close() override { events.push_back("close"); }
};

std::string join(const std::vector<std::string>& v) {
    std::string out;
    for (const auto& s : v) out += s + "\n";
    return out;
}

using Setup = std::function<void(Recorder&, StreamParser&)>;

std::string run(const std::vector<std::string_view>& chunks, ParserLimits limits, const Setup& setup) {
    Recorder rec;
    StreamParser parser(rec, limits);
    if (setup) setup(rec, parser);
    for (auto chunk : chunks) {
        if (auto err = parser.feed(chunk)) {
            rec.events.push_back("error " + std::string(to_string(*err)));
            // The parser stays failed until reset().
            if (parser.feed("<x/>") != err) rec.events.push_back("ERROR NOT STICKY");
            break;
        }
    }
    return join(rec.events);
}

void check_all_splits(std::string_view input, const std::vector<std::string>& expected,
                      ParserLimits limits = {}, const Setup& setup = {}) {
    const std::string want = join(expected);
    CHECK(run({input}, limits, setup) == want);
    for (std::size_t i = 1; i < input.size(); ++i) {
        CAPTURE(i);
        CHECK(run({input.substr(0, i), input.substr(i)}, limits, setup) == want);
    }
    std::vector<std::string_view> bytes;
    for (std::size_t i = 0; i < input.size(); ++i) bytes.push_back(input.substr(i, 1));
    CHECK(run(bytes, limits, setup) == want);
}

}  // namespace

TEST_CASE("stream parser: header attributes") {
    check_all_splits(header, {opened});
    check_all_splits(
        "<stream:stream from=\"juliet@im.example.com\" to=\"im.example.com\" id=\"++TR84Sm6A3hnt3Q065SnAbbk3Y=\" "
        "version=\"1.0\" xml:lang=\"fr\" xmlns=\"jabber:server\" xmlns:stream=\"http://etherx.jabber.org/streams\">",
        {"open to=im.example.com from=juliet@im.example.com id=++TR84Sm6A3hnt3Q065SnAbbk3Y= version=1.0 lang=fr "
         "ns=jabber:server prefix=stream"});
    // Another prefix for the stream namespace is legal XML.
    check_all_splits("<s:stream xmlns='jabber:client' xmlns:s='http://etherx.jabber.org/streams'>",
                     {"open to= from= id= version= lang= ns=jabber:client prefix=s"});
}

TEST_CASE("stream parser: stanzas with children, namespaces and attributes") {
    const std::string msg =
        "<message to='bob@example.org' type='chat' xml:lang='de' id='m1'><body>Hallo</body>"
        "<x xmlns='jabber:x:data' type='form'><field var='a'><value>1</value></field></x></message>";
    check_all_splits(header + msg, {opened, msg});
    // A prefixed element is stored by namespace and written with a default declaration.
    check_all_splits(header + "<iq type=\"get\" id=\"r1\"><q:query xmlns:q=\"jabber:iq:roster\"><q:item/></q:query></iq>",
                     {opened, "<iq type='get' id='r1'><query xmlns='jabber:iq:roster'><item/></query></iq>"});

    Recorder rec;
    StreamParser parser(rec, {});
    REQUIRE_FALSE(parser.feed(header + msg));
    REQUIRE(rec.stanzas.size() == 1);
    const Element& m = rec.stanzas[0];
    CHECK(m.name() == "message");
    CHECK(m.xmlns() == "jabber:client");
    CHECK(m.attr("xml:lang") == "de");
    CHECK(m.attr("to") == "bob@example.org");
    CHECK(m.child_text("body", "jabber:client") == "Hallo");
    const Element* x = m.find_child("x", "jabber:x:data");
    REQUIRE(x != nullptr);
    CHECK(x->find_child("field")->attr("var") == "a");
    CHECK(x->find_child("field")->find_child("value")->xmlns() == "jabber:x:data");
}

TEST_CASE("stream parser: attributes in another namespace keep their prefix") {
    check_all_splits(header + "<message xmlns:e='urn:example'><body e:k='v'/></message>",
                     {opened, "<message><body xmlns:e='urn:example' e:k='v'/></message>"});
}

TEST_CASE("stream parser: text is merged, entities and CDATA are decoded") {
    check_all_splits(header + "<message><body>a &amp; b &lt; c &gt; &#x41;&#66;&apos;&quot;\nline2\r\nend</body></message>",
                     {opened, "<message><body>a &amp; b &lt; c &gt; AB'\"\nline2\nend</body></message>"});
    check_all_splits(header + "<message><body>x<![CDATA[<b>&amp;</b>]]>y</body></message>",
                     {opened, "<message><body>x&lt;b&gt;&amp;amp;&lt;/b&gt;y</body></message>"});
    // Non-ASCII text survives any split, including inside a multi-byte character.
    check_all_splits(header + "<message><body>\xC3\xA9t\xC3\xA9 \xF0\x9F\x98\x80</body></message>",
                     {opened, "<message><body>\xC3\xA9t\xC3\xA9 \xF0\x9F\x98\x80</body></message>"});
    // Mixed content keeps its order.
    check_all_splits(header + "<message><body>a<b/>c</body></message>", {opened, "<message><body>a<b/>c</body></message>"});
}

TEST_CASE("stream parser: whitespace keepalives and stream close") {
    check_all_splits(header + " \n <presence/>\n\t \r\n<presence type='unavailable'/> </stream:stream>",
                     {opened, "<presence/>", "<presence type='unavailable'/>", "close"});
    // After the stream ends the rest is ignored, even garbage.
    check_all_splits(header + "<presence/></stream:stream><presence/>&&<<", {opened, "<presence/>", "close"});
    check_all_splits(header + "hello", {opened, "error bad-format"});
}

TEST_CASE("stream parser: restricted XML") {
    check_all_splits("<?xml version='1.0'?><!DOCTYPE stream:stream>" + header.substr(21), {"error restricted-xml"});
    check_all_splits("<!DOCTYPE stream:stream [<!ENTITY x 'boom'>]>" + header.substr(21) + "<message>&x;</message>",
                     {"error restricted-xml"});
    check_all_splits(header + "<?php echo 1; ?>", {opened, "error restricted-xml"});
    check_all_splits(header + "<message><?pi x?></message>", {opened, "error restricted-xml"});
    check_all_splits(header + "<!-- hello -->", {opened, "error restricted-xml"});
    check_all_splits(header + "<message><body>a<!-- c -->b</body></message>", {opened, "error restricted-xml"});
    check_all_splits("<!-- before -->" + header, {"error restricted-xml"});
}

TEST_CASE("stream parser: malformed input") {
    check_all_splits(header + "<message><body></message>", {opened, "error not-well-formed"});
    check_all_splits(header + "<message><body>\xC3\x28</body></message>", {opened, "error not-well-formed"});
    check_all_splits(header + "<message><body>\x80</body></message>", {opened, "error not-well-formed"});
    check_all_splits(header + "<message><body>\xC0\xAF</body></message>", {opened, "error not-well-formed"});
    check_all_splits(header + "<message><body>\xFF</body></message>", {opened, "error not-well-formed"});
    check_all_splits(header + "<message><body>&unknown;</body></message>", {opened, "error not-well-formed"});
    check_all_splits(header + "<message a='1' a='2'/>", {opened, "error not-well-formed"});
    check_all_splits(header + "<message><?xml version='1.0'?></message>", {opened, "error not-well-formed"});
    check_all_splits(header + "<presence/></stream>", {opened, "<presence/>", "error not-well-formed"});
    check_all_splits(header + "<foo:bar/>", {opened, "error bad-namespace-prefix"});
}

TEST_CASE("stream parser: namespaces of the stream") {
    check_all_splits("<stream:stream xmlns='jabber:client' xmlns:stream='urn:wrong'>", {"error invalid-namespace"});
    check_all_splits("<stream xmlns='jabber:client'>", {"error invalid-namespace"});
    check_all_splits("<stream:features xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>",
                     {"error invalid-namespace"});
    check_all_splits("<stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams'>",
                     {"error invalid-namespace"});
    check_all_splits("<stream:stream xmlns:stream='http://etherx.jabber.org/streams'>", {"error invalid-namespace"});
    check_all_splits("<stream xmlns='http://etherx.jabber.org/streams'>", {"error invalid-namespace"});
    check_all_splits("<stream:stream xmlns='jabber:client'>", {"error bad-namespace-prefix"});
}

TEST_CASE("stream parser: encodings") {
    check_all_splits("<?xml version='1.0' encoding='ISO-8859-1'?>" + header.substr(21), {"error unsupported-encoding"});
    check_all_splits("<?xml version='1.0' encoding='utf-8'?>" + header.substr(21), {opened});
}

TEST_CASE("stream parser: stanza size limit") {
    ParserLimits limits;
    limits.max_stanza_bytes = 200;
    const std::string open_tag = "<message><body>";
    const std::string close_tag = "</body></message>";
    const std::string fits = open_tag + std::string(200 - open_tag.size() - close_tag.size(), 'a') + close_tag;
    REQUIRE(fits.size() == 200);
    check_all_splits(header + fits + fits, {opened, fits, fits}, limits);
    const std::string too_big = open_tag + std::string(201 - open_tag.size() - close_tag.size(), 'a') + close_tag;
    check_all_splits(header + fits + too_big + fits, {opened, fits, "error policy-violation"}, limits);
    // Entities count as the bytes on the wire.
    std::string amps;
    while (open_tag.size() + amps.size() + close_tag.size() <= 200) amps += "&amp;";
    check_all_splits(header + open_tag + amps + close_tag, {opened, "error policy-violation"}, limits);

    // Whitespace keepalives between stanzas do not add up to a stanza.
    check_all_splits(header + std::string(500, ' ') + fits + std::string(500, '\n'), {opened, fits}, limits);

    // A stanza that never ends is refused once it passes the limit: text, or one
    // unfinished start tag that expat buffers whole.
    check_all_splits(header + open_tag + std::string(400, 'a'), {opened, "error policy-violation"}, limits);
    check_all_splits(header + "<message to='" + std::string(400, 'a'), {opened, "error policy-violation"}, limits);
    // So is a stream header that never ends.
    check_all_splits("<stream:stream xmlns='jabber:client' to='" + std::string(400, 'a'), {"error policy-violation"},
                     limits);
}

TEST_CASE("stream parser: nesting and attribute limits") {
    ParserLimits limits;
    limits.max_depth = 3;
    limits.max_attributes = 3;
    check_all_splits(header + "<a><b><c/></b></a>", {opened, "<a><b><c/></b></a>"}, limits);
    check_all_splits(header + "<a><b><c><d/></c></b></a>", {opened, "error policy-violation"}, limits);
    check_all_splits(header + "<a x='1' y='2' z='3'/>", {opened, "<a x='1' y='2' z='3'/>"}, limits);
    check_all_splits(header + "<a><b w='0' x='1' y='2' z='3'/></a>", {opened, "error policy-violation"}, limits);
    // Namespace declarations count too.
    check_all_splits(header + "<a xmlns:p='1' xmlns:q='2' xmlns:r='3' xmlns:s='4'/>", {opened, "error policy-violation"},
                     limits);
}

TEST_CASE("stream parser: stop() inside a callback ends the feed") {
    const Setup stop_on_first = [](Recorder& rec, StreamParser& parser) {
        rec.stanza_hook = [&parser](const Element&) { parser.stop(); };
    };
    // The second stanza is never delivered, whether it came in the same feed or later.
    check_all_splits(header + "<a/><b/>", {opened, "<a/>"}, {}, stop_on_first);
    // Later feeds do nothing until reset().
    Recorder rec;
    StreamParser parser(rec, {});
    rec.stanza_hook = [&parser](const Element&) { parser.stop(); };
    CHECK_FALSE(parser.feed(header + "<a/><b/>"));
    CHECK_FALSE(parser.feed("<c/>"));
    CHECK(join(rec.events) == join({opened, "<a/>"}));

    // From the header callback: the stanza in the same feed is not delivered.
    struct StopOnOpen : Recorder {
        StreamParser* parser = nullptr;
        void on_stream_open(StreamHeader h) override {
            Recorder::on_stream_open(std::move(h));
            parser->stop();
        }
    } stopper;
    StreamParser parser2(stopper, {});
    stopper.parser = &parser2;
    CHECK_FALSE(parser2.feed(header + "<a/>"));
    CHECK(join(stopper.events) == join({opened}));
}

TEST_CASE("stream parser: reset() starts a new stream") {
    const std::string second =
        "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' "
        "to='example.org' id='s2' version='1.0'><iq type='get' id='b'/>";
    const std::string opened2 = "open to=example.org from= id=s2 version=1.0 lang= ns=jabber:client prefix=stream";

    SUBCASE("between feeds") {
        Recorder rec;
        StreamParser parser(rec, {});
        CHECK_FALSE(parser.feed(header + "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"));
        parser.reset();
        CHECK_FALSE(parser.feed(second));
        CHECK(join(rec.events) ==
              join({opened, "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>", opened2, "<iq type='get' id='b'/>"}));
    }
    SUBCASE("inside a callback, split every way") {
        const Setup reset_on_starttls = [](Recorder& rec, StreamParser& parser) {
            rec.stanza_hook = [&parser](const Element& el) {
                if (el.name() == "starttls") parser.reset();
            };
        };
        // Bytes after <starttls/> in the same feed are discarded, as with stop().
        check_all_splits(header + "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>",
                         {opened, "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"}, {}, reset_on_starttls);
        Recorder rec;
        StreamParser parser(rec, {});
        reset_on_starttls(rec, parser);
        CHECK_FALSE(parser.feed(header + "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/><ignored/>"));
        CHECK_FALSE(parser.feed(second));
        CHECK(join(rec.events) ==
              join({opened, "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>", opened2, "<iq type='get' id='b'/>"}));
    }
    SUBCASE("clears an error") {
        Recorder rec;
        StreamParser parser(rec, {});
        CHECK(parser.feed(header + "<a></b>") == StreamErrorCondition::not_well_formed);
        parser.reset();
        CHECK_FALSE(parser.feed(second));
        CHECK(rec.events.back() == "<iq type='get' id='b'/>");
    }
}

TEST_CASE("stream parser: an exception from a handler propagates") {
    Recorder rec;
    StreamParser parser(rec, {});
    rec.stanza_hook = [](const Element&) { throw std::runtime_error("boom"); };
    CHECK_THROWS_AS(parser.feed(header + "<a/><b/>"), std::runtime_error);
    CHECK(rec.events.size() == 2);
}

// ---- hibernation: an idle stream gives its expat parser back ----------------------

namespace {
// Feeds `before`, hibernates, then feeds `after` split at `split`; returns the events.
std::string run_hibernating(const std::string& before, const std::string& after, std::size_t split,
                            bool expect_hibernated = true) {
    Recorder rec;
    StreamParser parser(rec, ParserLimits{});
    REQUIRE_FALSE(parser.feed(before));
    CHECK(parser.hibernate() == expect_hibernated);
    if (auto err = parser.feed(std::string_view(after).substr(0, split))) return "error " + std::string(to_string(*err));
    if (auto err = parser.feed(std::string_view(after).substr(split))) return "error " + std::string(to_string(*err));
    return join(rec.events);
}
}  // namespace

TEST_CASE("stream parser: a hibernated stream goes on as if nothing happened") {
    const std::string first = "<message to='a@b'><body>one</body></message>";
    const std::string second = "<message to='c@d' xml:lang='de'><body>zwei</body><x xmlns='urn:x'/></message></stream:stream>";
    const std::string expected = join({opened, "<message to='a@b'><body>one</body></message>",
                                       "<message to='c@d' xml:lang='de'><body>zwei</body><x xmlns='urn:x'/></message>",
                                       "close"});
    for (std::size_t split = 0; split <= second.size(); ++split) {
        CAPTURE(split);
        CHECK(run_hibernating(header + first, second, split) == expected);
    }
}

TEST_CASE("stream parser: another stream prefix and extra root declarations survive hibernation") {
    const std::string hdr =
        "<s:stream xmlns='jabber:server' xmlns:s='http://etherx.jabber.org/streams' "
        "xmlns:db='jabber:server:dialback' version='1.0'>";
    Recorder rec;
    StreamParser parser(rec, ParserLimits{});
    REQUIRE_FALSE(parser.feed(hdr + "  "));
    REQUIRE(parser.hibernate());
    REQUIRE_FALSE(parser.feed("<db:result from='a' to='b'>key</db:result><message/></s:stream>"));
    REQUIRE(rec.stanzas.size() == 2);
    CHECK(rec.stanzas[0].xmlns() == "jabber:server:dialback");
    CHECK(rec.stanzas[0].name() == "result");
    CHECK(rec.stanzas[1].xmlns() == "jabber:server");
    CHECK(rec.events.back() == "close");
    CHECK(rec.events.front().find("ns=jabber:server") != std::string::npos);
    CHECK(std::count_if(rec.events.begin(), rec.events.end(),
                        [](const std::string& e) { return e.rfind("open", 0) == 0; }) == 1);
}

TEST_CASE("stream parser: no hibernation inside a stanza, before the header, or after an error") {
    Recorder rec;
    StreamParser parser(rec, ParserLimits{});
    CHECK_FALSE(parser.hibernate());  // no stream yet
    REQUIRE_FALSE(parser.feed(header + "<message><bo"));
    CHECK_FALSE(parser.hibernate());  // half a stanza is buffered
    REQUIRE_FALSE(parser.feed("dy>hi</body></message>"));
    CHECK(parser.hibernate());
    CHECK(parser.hibernate() == false);  // already asleep
    CHECK(parser.feed("<message><<") == StreamErrorCondition::not_well_formed);
    CHECK_FALSE(parser.hibernate());
}

TEST_CASE("stream parser: limits still apply after hibernation, and reset() wakes a sleeping parser") {
    ParserLimits limits;
    limits.max_stanza_bytes = 200;
    Recorder rec;
    StreamParser parser(rec, limits);
    REQUIRE_FALSE(parser.feed(header + "<message/>"));
    REQUIRE(parser.hibernate());
    CHECK(parser.feed("<message><body>" + std::string(300, 'x') + "</body></message>") ==
          StreamErrorCondition::policy_violation);
    parser.reset();
    REQUIRE_FALSE(parser.feed(header + "<iq/>"));
    REQUIRE(parser.hibernate());
    parser.reset();
    REQUIRE_FALSE(parser.feed(header + "<presence/>"));
    CHECK(rec.stanzas.back().name() == "presence");
}
