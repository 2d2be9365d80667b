// XEP-0092 Software Version, XEP-0202 Entity Time, XEP-0012 Last Activity (server
// uptime) and XEP-0157 Contact Addresses, as the server itself answers them.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <thread>

#include "protocol/namespaces.hpp"
#include "support/server_process.hpp"
#include "support/test_client.hpp"

using namespace parley::test;
namespace ns = parley::protocol::ns;

namespace {

std::optional<Element> ask_server(TestClient& who, const std::string& payload) {
    return who.request(*parse_fragment("<iq type='get' to='localhost'>" + payload + "</iq>"));
}

// XEP-0082 "YYYY-MM-DDThh:mm:ss[.fff]Z" → seconds since the epoch; nullopt if malformed.
std::optional<std::time_t> parse_utc(const std::string& s) {
    std::tm tm{};
    int consumed = 0;
    if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                    &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &consumed) != 6 ||
        consumed != 19)
        return std::nullopt;
    std::string rest = s.substr(19);
    if (rest.empty() || rest.back() != 'Z') return std::nullopt;
    rest.pop_back();
    if (!rest.empty() && (rest[0] != '.' || rest.size() < 2 ||
                          !std::all_of(rest.begin() + 1, rest.end(), ::isdigit)))
        return std::nullopt;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return timegm(&tm);
}

std::vector<std::string> values_of(const Element& form, std::string_view var) {
    std::vector<std::string> out;
    for (const auto& field : form.children()) {
        if (field.name() != "field" || field.attr("var") != var) continue;
        for (const auto& v : field.children())
            if (v.name() == "value") out.push_back(v.text());
    }
    return out;
}

}  // namespace

TEST_CASE("alice asks the server which software it runs") {
    ServerProcess server;
    server.add_user("alice", "wonderland");
    TestClient alice(server, "alice");
    REQUIRE(alice.login("alice@localhost/phone", "wonderland"));

    auto reply = ask_server(alice, "<query xmlns='jabber:iq:version'/>");
    REQUIRE(reply);
    INFO(to_xml(*reply));
    REQUIRE(reply->attr("type") == "result");
    CHECK(reply->attr("from") == "localhost");
    const Element* q = reply->find_child("query", "jabber:iq:version");
    REQUIRE(q);
    CHECK(q->child_text("name") == "Parley");
    CHECK(q->child_text("version") == "0.1.0");
    CHECK(q->find_child("os") == nullptr);  // not told, on purpose

    // Only 'get' is defined; a 'set' is not answered with a version.
    auto set = alice.request(
        *parse_fragment("<iq type='set' to='localhost'><query xmlns='jabber:iq:version'/></iq>"));
    REQUIRE(set);
    CHECK(set->attr("type") == "error");
}

TEST_CASE("alice asks the server for the time") {
    ServerProcess server;
    server.add_user("alice", "wonderland");
    TestClient alice(server, "alice");
    REQUIRE(alice.login("alice@localhost/phone", "wonderland"));

    auto reply = ask_server(alice, "<time xmlns='urn:xmpp:time'/>");
    REQUIRE(reply);
    INFO(to_xml(*reply));
    REQUIRE(reply->attr("type") == "result");
    const Element* t = reply->find_child("time", "urn:xmpp:time");
    REQUIRE(t);
    CHECK(t->child_text("tzo") == "+00:00");
    auto utc = parse_utc(t->child_text("utc"));
    REQUIRE(utc);
    const std::time_t now = std::time(nullptr);
    CHECK(std::abs(static_cast<long>(*utc - now)) <= 60);
}

TEST_CASE("alice asks how long the server has been up") {
    ServerProcess server;
    server.add_user("alice", "wonderland");
    TestClient alice(server, "alice");
    REQUIRE(alice.login("alice@localhost/phone", "wonderland"));

    auto seconds_up = [&]() -> long {
        auto reply = ask_server(alice, "<query xmlns='jabber:iq:last'/>");
        REQUIRE(reply);
        INFO(to_xml(*reply));
        REQUIRE(reply->attr("type") == "result");
        const Element* q = reply->find_child("query", "jabber:iq:last");
        REQUIRE(q);
        std::string s(q->attr("seconds"));
        REQUIRE(!s.empty());
        REQUIRE(std::all_of(s.begin(), s.end(), ::isdigit));
        return std::stol(s);
    };
    long first = seconds_up();
    CHECK(first >= 0);
    CHECK(first < 120);  // it was started for this test
    std::this_thread::sleep_for(std::chrono::milliseconds(2100));
    long later = seconds_up();
    CHECK(later >= first + 2);
}

TEST_CASE("the server's disco#info lists the small services and its contact addresses") {
    ServerOptions options;
    options.extra_toml =
        "[contact]\n"
        "abuse = [\"mailto:abuse@example.org\", \"xmpp:abuse@example.org\"]\n"
        "security = [\"https://example.org/security\"]\n"
        "sales = []\n";
    ServerProcess server(options);
    server.add_user("alice", "wonderland");
    TestClient alice(server, "alice");
    REQUIRE(alice.login("alice@localhost/phone", "wonderland"));

    auto info = ask_server(alice, "<query xmlns='http://jabber.org/protocol/disco#info'/>");
    REQUIRE(info);
    INFO(to_xml(*info));
    REQUIRE(info->attr("type") == "result");
    const Element* query = info->find_child("query", ns::disco_info);
    REQUIRE(query);
    std::vector<std::string> features;
    std::vector<const Element*> forms;
    for (const auto& child : query->children()) {
        if (child.name() == "feature") features.emplace_back(child.attr("var"));
        if (child.name() == "x" && child.xmlns() == "jabber:x:data") forms.push_back(&child);
    }
    for (const char* f : {"jabber:iq:version", "urn:xmpp:time", "jabber:iq:last"}) {
        CAPTURE(f);
        CHECK(std::find(features.begin(), features.end(), f) != features.end());
    }
    REQUIRE(forms.size() == 1);
    const Element& form = *forms[0];
    CHECK(form.attr("type") == "result");
    CHECK(values_of(form, "FORM_TYPE") ==
          std::vector<std::string>{"http://jabber.org/network/serverinfo"});
    CHECK(values_of(form, "abuse-addresses") ==
          std::vector<std::string>{"mailto:abuse@example.org", "xmpp:abuse@example.org"});
    CHECK(values_of(form, "security-addresses") ==
          std::vector<std::string>{"https://example.org/security"});
    // Kinds without addresses are not listed at all.
    std::size_t fields = 0;
    for (const auto& child : form.children()) fields += child.name() == "field";
    CHECK(fields == 3);
}

TEST_CASE("with no contact addresses configured, disco#info carries no serverinfo form") {
    ServerProcess server;
    server.add_user("alice", "wonderland");
    TestClient alice(server, "alice");
    REQUIRE(alice.login("alice@localhost/phone", "wonderland"));

    auto info = ask_server(alice, "<query xmlns='http://jabber.org/protocol/disco#info'/>");
    REQUIRE(info);
    INFO(to_xml(*info));
    const Element* query = info->find_child("query", ns::disco_info);
    REQUIRE(query);
    CHECK(query->find_child("x", "jabber:x:data") == nullptr);
}
