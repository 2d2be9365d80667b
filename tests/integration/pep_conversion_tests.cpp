// PEP conversions real clients rely on: XEP-0398 (a vCard PHOTO and the XEP-0084
// avatar stay the same image), XEP-0402 #compat / #compat-pep and XEP-0411 (native
// bookmarks, the XEP-0048 PEP node and private XML storage stay the same list).
#include <doctest/doctest.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include <algorithm>

#include "support/caps_client.hpp"
#include "support/child_process.hpp"
#include "support/server_process.hpp"
#include "support/test_client.hpp"

using namespace parley::test;

namespace {

constexpr std::string_view pubsub_ns = "http://jabber.org/protocol/pubsub";
constexpr std::string_view event_ns = "http://jabber.org/protocol/pubsub#event";
constexpr std::string_view native_ns = "urn:xmpp:bookmarks:1";
constexpr std::string_view legacy_ns = "storage:bookmarks";

Element ask(TestClient& client, const std::string& xml) {
    auto el = parse_fragment(xml);
    REQUIRE_MESSAGE(el, "test bug: not XML: " << xml);
    auto reply = client.request(*el);
    REQUIRE_MESSAGE(reply, "no answer to " << xml);
    return *reply;
}

void require_result(const Element& reply) {
    INFO(to_xml(reply));
    REQUIRE(reply.attr("type") == "result");
}

std::string base64(std::string_view bytes) {
    std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
    out.resize(static_cast<std::size_t>(n));
    return out;
}

std::string unbase64(std::string text) {
    text.erase(std::remove_if(text.begin(), text.end(), [](char c) { return std::isspace(static_cast<unsigned char>(c)); }),
               text.end());
    std::string out(text.size(), '\0');
    const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
    REQUIRE(n >= 0);
    out.resize(static_cast<std::size_t>(n));
    while (text.size() >= 1 && text.back() == '=') {  // EVP_DecodeBlock counts padding as zero bytes
        out.pop_back();
        text.pop_back();
    }
    return out;
}

std::string sha1_hex(std::string_view bytes) {
    unsigned char d[SHA_DIGEST_LENGTH];
    SHA1(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), d);
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    for (unsigned char c : d) {
        out += hex[c >> 4];
        out += hex[c & 15];
    }
    return out;
}

// Two small "images" with bytes that need base64 (NUL, high bytes).
const std::string red_png = std::string("\x89PNG\r\n\x1a\n\0\0\0\rIHDR-red", 21);
const std::string blue_jpeg = std::string("\xff\xd8\xff\xe0\0\x10JFIF\0blue-pixel", 22);

// The items of a PEP node, as (id, payload) pairs; an error reply gives nothing.
std::vector<std::pair<std::string, Element>> items_of(TestClient& client, std::string_view node,
                                                      std::string_view to = {}) {
    std::string iq = "<iq type='get'";
    if (!to.empty()) iq += " to='" + std::string(to) + "'";
    Element reply = ask(client, iq + "><pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='" +
                                    std::string(node) + "'/></pubsub></iq>");
    std::vector<std::pair<std::string, Element>> out;
    if (reply.attr("type") != "result") return out;
    const Element* items = reply.find_child("pubsub", pubsub_ns)->find_child("items", pubsub_ns);
    REQUIRE(items);
    for (const auto& c : items->children()) {
        if (c.is_text() || c.name() != "item") continue;
        const Element* payload = c.first_child_element();
        out.emplace_back(std::string(c.attr("id")), payload ? *payload : Element());
    }
    return out;
}

Element publish(TestClient& client, std::string_view node, std::string_view id, std::string_view payload) {
    return ask(client, "<iq type='set'><pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='" +
                           std::string(node) + "'><item id='" + std::string(id) + "'>" + std::string(payload) +
                           "</item></publish></pubsub></iq>");
}

// XEP-0402 §3: clients publish native bookmarks with these publish-options.
Element publish_bookmark(TestClient& client, std::string_view room, std::string_view conference) {
    return ask(client, "<iq type='set'><pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='" +
                           std::string(native_ns) + "'><item id='" + std::string(room) + "'>" + std::string(conference) +
                           "</item></publish><publish-options><x xmlns='jabber:x:data' type='submit'>"
                           "<field var='FORM_TYPE' type='hidden'><value>http://jabber.org/protocol/pubsub#publish-options"
                           "</value></field><field var='pubsub#persist_items'><value>true</value></field>"
                           "<field var='pubsub#max_items'><value>max</value></field>"
                           "<field var='pubsub#send_last_published_item'><value>never</value></field>"
                           "<field var='pubsub#access_model'><value>whitelist</value></field></x></publish-options>"
                           "</pubsub></iq>");
}

Element get_vcard(TestClient& client) {
    Element reply = ask(client, "<iq type='get'><vCard xmlns='vcard-temp'/></iq>");
    require_result(reply);
    const Element* v = reply.find_child("vCard", "vcard-temp");
    REQUIRE(v);
    return *v;
}

// The <storage xmlns='storage:bookmarks'/> in alice's private XML storage.
Element private_bookmarks(TestClient& client) {
    Element reply = ask(client, "<iq type='get'><query xmlns='jabber:iq:private'><storage xmlns='storage:bookmarks'/>"
                                "</query></iq>");
    require_result(reply);
    const Element* s = reply.find_child("query", "jabber:iq:private")->find_child("storage", legacy_ns);
    REQUIRE(s);
    return *s;
}

// The conferences of a storage element, jid → conference.
std::vector<std::pair<std::string, Element>> conferences(const Element& storage) {
    std::vector<std::pair<std::string, Element>> out;
    for (const auto& c : storage.children()) {
        if (!c.is_text() && c.name() == "conference") out.emplace_back(std::string(c.attr("jid")), c);
    }
    return out;
}

// The legacy PEP node's single item 'current'.
Element legacy_pep_storage(TestClient& client) {
    auto items = items_of(client, legacy_ns);
    REQUIRE(items.size() == 1);
    CHECK(items[0].first == "current");
    REQUIRE(items[0].second.name() == "storage");
    return items[0].second;
}

std::vector<std::string> ids(const std::vector<std::pair<std::string, Element>>& items) {
    std::vector<std::string> out;
    for (const auto& [id, el] : items) out.push_back(id);
    std::sort(out.begin(), out.end());
    return out;
}

Match event_items(std::string node) {
    return [node](const Element& el) {
        if (el.name() != "message") return false;
        const Element* ev = el.find_child("event", event_ns);
        const Element* items = ev ? ev->find_child("items", event_ns) : nullptr;
        return items && items->attr("node") == node;
    };
}

}  // namespace

TEST_CASE("conversion: a vCard PHOTO becomes the User Avatar, and a published avatar becomes the PHOTO") {
    ServerProcess server;
    server.add_user("alice", "wonderland");
    TestClient alice(server, "alice");
    REQUIRE(alice.login("alice@localhost/phone", "wonderland"));
    advertise_caps(alice, {"urn:xmpp:avatar:metadata+notify"});
    REQUIRE(server.wait_for_log("caps_verified"));

    // Scene 1: a vCard-only client sets a PHOTO (BINVAL folded over lines, as some do).
    std::string folded = base64(red_png);
    folded.insert(8, "\n  ");
    require_result(ask(alice, "<iq type='set'><vCard xmlns='vcard-temp'><FN>Alice</FN><PHOTO><TYPE>image/png</TYPE>"
                              "<BINVAL>" + folded + "</BINVAL></PHOTO></vCard></iq>"));
    const std::string red_id = sha1_hex(red_png);
    auto note = alice.wait_for(event_items("urn:xmpp:avatar:metadata"));
    REQUIRE_MESSAGE(note, "no metadata notification after the vCard conversion");
    CHECK(note->find_child("event", event_ns)->find_child("items", event_ns)->find_child("item")->attr("id") == red_id);

    auto data = items_of(alice, "urn:xmpp:avatar:data");
    REQUIRE(data.size() == 1);
    CHECK(data[0].first == red_id);
    CHECK(data[0].second.xmlns() == "urn:xmpp:avatar:data");
    CHECK(unbase64(data[0].second.text()) == red_png);
    auto meta = items_of(alice, "urn:xmpp:avatar:metadata");
    REQUIRE(meta.size() == 1);
    CHECK(meta[0].first == red_id);
    const Element* info = meta[0].second.find_child("info", "urn:xmpp:avatar:metadata");
    REQUIRE(info);
    CHECK(info->attr("id") == red_id);
    CHECK(info->attr("bytes") == std::to_string(red_png.size()));
    CHECK(info->attr("type") == "image/png");

    // Scene 2: setting the same vCard again (another property changed) publishes
    // nothing new: still one metadata item, no second notification.
    require_result(ask(alice, "<iq type='set'><vCard xmlns='vcard-temp'><FN>Alice L.</FN><PHOTO><TYPE>image/png</TYPE>"
                              "<BINVAL>" + base64(red_png) + "</BINVAL></PHOTO></vCard></iq>"));
    CHECK_FALSE(alice.wait_for(event_items("urn:xmpp:avatar:metadata"), std::chrono::milliseconds(500)));

    // Scene 3: a modern client publishes a new avatar to PEP; the vCard follows and
    // keeps its other properties.
    const std::string blue_id = sha1_hex(blue_jpeg);
    require_result(publish(alice, "urn:xmpp:avatar:data", blue_id,
                           "<data xmlns='urn:xmpp:avatar:data'>" + base64(blue_jpeg) + "</data>"));
    require_result(publish(alice, "urn:xmpp:avatar:metadata", blue_id,
                           "<metadata xmlns='urn:xmpp:avatar:metadata'>"
                           "<info url='https://example.org/a.png' id='" + sha1_hex("elsewhere") + "' bytes='9' type='image/png'/>"
                           "<info id='" + blue_id + "' bytes='" + std::to_string(blue_jpeg.size()) +
                           "' type='image/jpeg'/></metadata>"));
    Element vcard = get_vcard(alice);
    INFO(to_xml(vcard));
    CHECK(vcard.child_text("FN", "vcard-temp") == "Alice L.");
    const Element* photo = vcard.find_child("PHOTO", "vcard-temp");
    REQUIRE(photo);
    CHECK(photo->child_text("TYPE", "vcard-temp") == "image/jpeg");
    CHECK(unbase64(photo->child_text("BINVAL", "vcard-temp")) == blue_jpeg);
    // The conversion did not come back to PEP: the metadata is the client's (two infos).
    meta = items_of(alice, "urn:xmpp:avatar:metadata");
    REQUIRE(meta.size() == 1);
    CHECK(meta[0].second.child_element_count() == 2);

    // Scene 4: metadata whose data does not hash to its id is not converted.
    require_result(publish(alice, "urn:xmpp:avatar:data", sha1_hex("not this"),
                           "<data xmlns='urn:xmpp:avatar:data'>" + base64(red_png) + "</data>"));
    require_result(publish(alice, "urn:xmpp:avatar:metadata", sha1_hex("not this"),
                           "<metadata xmlns='urn:xmpp:avatar:metadata'><info id='" + sha1_hex("not this") +
                           "' bytes='21' type='image/png'/></metadata>"));
    CHECK(unbase64(get_vcard(alice).find_child("PHOTO", "vcard-temp")->child_text("BINVAL", "vcard-temp")) == blue_jpeg);

    // Scene 5: avatar disabled (empty metadata, XEP-0084 §4.2) removes the PHOTO.
    require_result(publish(alice, "urn:xmpp:avatar:metadata", "current", "<metadata xmlns='urn:xmpp:avatar:metadata'/>"));
    vcard = get_vcard(alice);
    CHECK(vcard.find_child("PHOTO", "vcard-temp") == nullptr);
    CHECK(vcard.child_text("FN", "vcard-temp") == "Alice L.");
}

TEST_CASE("conversion: removing the vCard PHOTO disables the avatar; a vCard that never had one leaves PEP alone") {
    ServerProcess server;
    server.add_user("alice", "wonderland");
    TestClient alice(server, "alice");
    REQUIRE(alice.login("alice@localhost/phone", "wonderland"));

    // An avatar only at an external URL: nothing the vCard can embed, so a vCard
    // without PHOTO says nothing about it and PEP keeps it.
    require_result(publish(alice, "urn:xmpp:avatar:metadata", "ext",
                           "<metadata xmlns='urn:xmpp:avatar:metadata'><info url='https://example.org/a.png' id='" +
                               sha1_hex("x") + "' bytes='1' type='image/png'/></metadata>"));
    require_result(ask(alice, "<iq type='set'><vCard xmlns='vcard-temp'><FN>Alice</FN></vCard></iq>"));
    auto meta = items_of(alice, "urn:xmpp:avatar:metadata");
    REQUIRE(meta.size() == 1);
    CHECK(meta[0].first == "ext");
    CHECK(get_vcard(alice).find_child("PHOTO", "vcard-temp") == nullptr);

    // A PEP avatar reaches the vCard...
    const std::string id = sha1_hex(red_png);
    require_result(publish(alice, "urn:xmpp:avatar:data", id, "<data xmlns='urn:xmpp:avatar:data'>" + base64(red_png) + "</data>"));
    require_result(publish(alice, "urn:xmpp:avatar:metadata", id,
                           "<metadata xmlns='urn:xmpp:avatar:metadata'><info id='" + id + "' bytes='21' type='image/png'/></metadata>"));
    Element vcard = get_vcard(alice);
    REQUIRE(vcard.find_child("PHOTO", "vcard-temp"));
    CHECK(vcard.child_text("FN", "vcard-temp") == "Alice");

    // ...and a client that then saves the vCard without it disables the avatar.
    require_result(ask(alice, "<iq type='set'><vCard xmlns='vcard-temp'><FN>Alice</FN></vCard></iq>"));
    meta = items_of(alice, "urn:xmpp:avatar:metadata");
    REQUIRE(meta.size() == 1);
    CHECK(meta[0].second.name() == "metadata");
    CHECK(meta[0].second.child_element_count() == 0);
}

TEST_CASE("conversion: a native bookmark shows in the legacy PEP node and private storage; retracting removes it") {
    ServerProcess server;
    server.add_user("alice", "wonderland");
    server.add_user("bob", "builder");
    TestClient alice(server, "alice"), bob(server, "bob");
    REQUIRE(alice.login("alice@localhost/phone", "wonderland"));
    REQUIRE(bob.login("bob@localhost/desk", "builder"));

    require_result(publish_bookmark(alice, "room@conference.localhost",
                           "<conference xmlns='urn:xmpp:bookmarks:1' name='' autojoin='true'><nick>al</nick>"
                           "<extensions><state xmlns='urn:example:ext'>on</state></extensions></conference>"));
    require_result(publish_bookmark(alice, "tea@conference.localhost",
                           "<conference xmlns='urn:xmpp:bookmarks:1' name='Tea' autojoin='false'/>"));

    Element legacy = legacy_pep_storage(alice);
    INFO(to_xml(legacy));
    auto confs = conferences(legacy);
    REQUIRE(confs.size() == 2);
    const Element* room = nullptr;
    for (const auto& [jid, c] : confs) {
        if (jid == "room@conference.localhost") room = &c;
    }
    REQUIRE(room);
    CHECK((room->attr("autojoin") == "true" || room->attr("autojoin") == "1"));
    CHECK(room->child_text("nick", legacy_ns) == "al");
    CHECK(room->find_child("state", "urn:example:ext"));

    Element priv = private_bookmarks(alice);
    INFO(to_xml(priv));
    auto priv_confs = conferences(priv);
    REQUIRE(priv_confs.size() == 2);

    // Bookmarks are private: bob sees neither node.
    CHECK(items_of(bob, native_ns, "alice@localhost").empty());
    CHECK(items_of(bob, legacy_ns, "alice@localhost").empty());

    // Retract (with notify, XEP-0402 §3.3): gone from both legacy forms.
    require_result(ask(alice, "<iq type='set'><pubsub xmlns='http://jabber.org/protocol/pubsub'><retract node='" +
                                  std::string(native_ns) + "' notify='true'><item id='room@conference.localhost'/>"
                                  "</retract></pubsub></iq>"));
    confs = conferences(legacy_pep_storage(alice));
    REQUIRE(confs.size() == 1);
    CHECK(confs[0].first == "tea@conference.localhost");
    CHECK(confs[0].second.attr("name") == "Tea");
    priv_confs = conferences(private_bookmarks(alice));
    REQUIRE(priv_confs.size() == 1);
    CHECK(priv_confs[0].first == "tea@conference.localhost");
}

TEST_CASE("conversion: private storage bookmarks (XEP-0048) become native items and the legacy PEP node") {
    ServerProcess server;
    server.add_user("alice", "wonderland");
    TestClient alice(server, "alice");
    REQUIRE(alice.login("alice@localhost/phone", "wonderland"));
    advertise_caps(alice, {std::string(native_ns) + "+notify", std::string(legacy_ns) + "+notify"});
    REQUIRE(server.wait_for_log("caps_verified"));

    require_result(ask(alice, "<iq type='set'><query xmlns='jabber:iq:private'><storage xmlns='storage:bookmarks'>"
                              "<conference jid='room@conference.localhost' name='The Room' autojoin='1'><nick>al</nick>"
                              "<password>pw</password></conference>"
                              "<conference jid='tea@conference.localhost'/>"
                              "<url name='Home' url='https://example.org/'/></storage></query></iq>"));
    // XEP-0411 §3: subscribers of storage:bookmarks are told.
    CHECK(alice.wait_for(event_items(std::string(legacy_ns))));

    auto native = items_of(alice, native_ns);
    REQUIRE(ids(native) == std::vector<std::string>{"room@conference.localhost", "tea@conference.localhost"});
    for (const auto& [id, c] : native) {
        INFO(to_xml(c));
        CHECK(c.name() == "conference");
        CHECK(c.xmlns() == native_ns);
        if (id == "room@conference.localhost") {
            CHECK(c.attr("name") == "The Room");
            CHECK((c.attr("autojoin") == "true" || c.attr("autojoin") == "1"));
            CHECK(c.child_text("nick", native_ns) == "al");
            CHECK(c.child_text("password", native_ns) == "pw");
        } else {
            CHECK((c.attr("autojoin").empty() || c.attr("autojoin") == "false" || c.attr("autojoin") == "0"));
        }
    }
    CHECK(conferences(legacy_pep_storage(alice)).size() == 2);

    // A second private set: one room gone, one unchanged. Only a retraction goes
    // out for the native node (no notification for the unchanged item).
    int native_notes = 0;
    while (alice.wait_for(event_items(std::string(native_ns)), std::chrono::milliseconds(300))) ++native_notes;
    CHECK(native_notes == 2);
    require_result(ask(alice, "<iq type='set'><query xmlns='jabber:iq:private'><storage xmlns='storage:bookmarks'>"
                              "<conference jid='room@conference.localhost' name='The Room' autojoin='1'><nick>al</nick>"
                              "<password>pw</password></conference>"
                              "<url name='Home' url='https://example.org/'/></storage></query></iq>"));
    auto retraction = alice.wait_for(event_items(std::string(native_ns)));
    REQUIRE(retraction);
    const Element* items = retraction->find_child("event", event_ns)->find_child("items", event_ns);
    REQUIRE(items->find_child("retract", event_ns));
    CHECK(items->find_child("retract", event_ns)->attr("id") == "tea@conference.localhost");
    CHECK(items->find_child("item", event_ns) == nullptr);
    CHECK_FALSE(alice.wait_for(event_items(std::string(native_ns)), std::chrono::milliseconds(500)));
    CHECK(ids(items_of(alice, native_ns)) == std::vector<std::string>{"room@conference.localhost"});

    // A native publish keeps the URL bookmark in the legacy forms.
    require_result(publish_bookmark(alice, "new@conference.localhost",
                           "<conference xmlns='urn:xmpp:bookmarks:1' autojoin='true'/>"));
    Element priv = private_bookmarks(alice);
    INFO(to_xml(priv));
    CHECK(conferences(priv).size() == 2);
    CHECK(priv.find_child("url", legacy_ns));
    CHECK(legacy_pep_storage(alice).find_child("url", legacy_ns));
}

TEST_CASE("conversion: a XEP-0048 PEP publish updates native bookmarks and private storage") {
    ServerProcess server;
    server.add_user("alice", "wonderland");
    TestClient alice(server, "alice");
    REQUIRE(alice.login("alice@localhost/phone", "wonderland"));

    require_result(publish_bookmark(alice, "old@conference.localhost",
                           "<conference xmlns='urn:xmpp:bookmarks:1' autojoin='true'/>"));
    require_result(publish(alice, legacy_ns, "current",
                           "<storage xmlns='storage:bookmarks'><conference jid='a@conference.localhost' name='A' "
                           "autojoin='true'><nick>alice</nick></conference></storage>"));
    auto native = items_of(alice, native_ns);
    REQUIRE(ids(native) == std::vector<std::string>{"a@conference.localhost"});
    CHECK(native[0].second.attr("name") == "A");
    CHECK(native[0].second.child_text("nick", native_ns) == "alice");
    auto priv = conferences(private_bookmarks(alice));
    REQUIRE(priv.size() == 1);
    CHECK(priv[0].first == "a@conference.localhost");
    // The legacy node holds exactly what the client wrote (not rewritten by a loop).
    CHECK(conferences(legacy_pep_storage(alice)).size() == 1);
}

TEST_CASE("conversion: bookmarks kept in private storage before the conversion reach PEP when first read") {
    ServerProcess server;
    server.add_user("alice", "wonderland");
    // What a legacy client stored while the server did not convert yet.
    const std::string sql =
        "INSERT INTO private_storage (domain, localpart, name, xmlns, xml) VALUES ('localhost', 'alice', 'storage', "
        "'storage:bookmarks', '<storage xmlns=''storage:bookmarks''><conference jid=''old@conference.localhost'' "
        "autojoin=''true''><nick>al</nick></conference></storage>')";
    auto r = run_command({"psql", "-X", "-v", "ON_ERROR_STOP=1", "-d", server.database(), "-c", sql});
    REQUIRE_MESSAGE(r.exit_code == 0, r.output);

    TestClient alice(server, "alice");
    REQUIRE(alice.login("alice@localhost/phone", "wonderland"));
    auto native = items_of(alice, native_ns);
    REQUIRE(ids(native) == std::vector<std::string>{"old@conference.localhost"});
    CHECK(native[0].second.child_text("nick", native_ns) == "al");
    CHECK(conferences(legacy_pep_storage(alice)).size() == 1);
}

TEST_CASE("conversion: the account advertises the conversion features") {
    ServerProcess server;
    server.add_user("alice", "wonderland");
    TestClient alice(server, "alice");
    REQUIRE(alice.login("alice@localhost/phone", "wonderland"));
    Element info = ask(alice, "<iq type='get' to='alice@localhost'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>");
    require_result(info);
    std::vector<std::string> features;
    for (const auto& c : info.find_child("query", "http://jabber.org/protocol/disco#info")->children()) {
        if (!c.is_text() && c.name() == "feature") features.emplace_back(c.attr("var"));
    }
    for (const char* f : {"urn:xmpp:pep-vcard-conversion:0", "urn:xmpp:bookmarks:1#compat",
                          "urn:xmpp:bookmarks:1#compat-pep", "urn:xmpp:bookmarks-conversion:0"}) {
        CHECK_MESSAGE(std::find(features.begin(), features.end(), f) != features.end(), f);
    }
}
