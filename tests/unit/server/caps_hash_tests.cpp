// XEP-0115 §5: verification strings, checked against the XEP's own examples (§5.2 and
// §5.3), and the ill-formed answers of §5.4 that must never verify.
#include <doctest/doctest.h>

#include "protocol/namespaces.hpp"
#include "server/modules/caps/caps_hash.hpp"

using parley::protocol::xml::Element;
namespace ns = parley::protocol::ns;
namespace caps = parley::server::modules::caps;

namespace {

Element& identity(Element& q, std::string category, std::string type, std::string name, std::string lang = {}) {
    Element& i = q.add_child("identity");
    i.set_attr("category", std::move(category)).set_attr("type", std::move(type)).set_attr("name", std::move(name));
    if (!lang.empty()) i.set_attr("xml:lang", std::move(lang));
    return i;
}

void feature(Element& q, std::string var) { q.add_child("feature").set_attr("var", std::move(var)); }

Element& field(Element& x, std::string var, std::vector<std::string> values, std::string type = {}) {
    Element& f = x.add_child("field");
    f.set_attr("var", std::move(var));
    if (!type.empty()) f.set_attr("type", std::move(type));
    for (auto& v : values) f.add_child("value").add_text(std::move(v));
    return f;
}

// §5.2: Exodus 0.9.1.
Element simple_example() {
    Element q("query", std::string(ns::disco_info));
    identity(q, "client", "pc", "Exodus 0.9.1");
    feature(q, "http://jabber.org/protocol/disco#info");
    feature(q, "http://jabber.org/protocol/disco#items");
    feature(q, "http://jabber.org/protocol/muc");
    feature(q, "http://jabber.org/protocol/caps");
    return q;
}

Element softwareinfo_form(std::string form_type_type = "hidden") {
    Element x("x", std::string(ns::data_forms));
    x.set_attr("type", "result");
    field(x, "FORM_TYPE", {"urn:xmpp:dataforms:softwareinfo"}, std::move(form_type_type));
    field(x, "ip_version", {"ipv6", "ipv4"});  // unsorted on purpose
    field(x, "os", {"Mac"});
    field(x, "os_version", {"10.5.1"});
    field(x, "software", {"Psi"});
    field(x, "software_version", {"0.11"});
    return x;
}

// §5.3: Psi 0.11 with two identities in two languages and a software-info form, its
// parts in an order different from the sorted one.
Element complex_example() {
    Element q("query", std::string(ns::disco_info));
    identity(q, "client", "pc", "Psi 0.11", "en");
    identity(q, "client", "pc", "\xCE\xA8 0.11", "el");  // Ψ 0.11
    feature(q, "http://jabber.org/protocol/muc");
    feature(q, "http://jabber.org/protocol/caps");
    feature(q, "http://jabber.org/protocol/disco#items");
    feature(q, "http://jabber.org/protocol/disco#info");
    q.add_child(softwareinfo_form());
    return q;
}

}  // namespace

TEST_CASE("the simple generation example of XEP-0115 hashes to its published ver") {
    Element q = simple_example();
    auto s = caps::verification_input(q);
    REQUIRE(s);
    CHECK(*s ==
          "client/pc//Exodus 0.9.1<http://jabber.org/protocol/caps<http://jabber.org/protocol/disco#info<"
          "http://jabber.org/protocol/disco#items<http://jabber.org/protocol/muc<");
    CHECK(caps::verification_string(q, caps::HashAlgorithm::sha1) == "QgayPKawpkPSDYmwT/WM94uAlu0=");
    CHECK(caps::matches(q, caps::HashAlgorithm::sha1, "QgayPKawpkPSDYmwT/WM94uAlu0="));
    CHECK_FALSE(caps::matches(q, caps::HashAlgorithm::sha1, "66/0NaeaBKkwk85efJTGmU47vXI="));
}

TEST_CASE("the complex generation example of XEP-0115 hashes to its published ver") {
    Element q = complex_example();
    auto s = caps::verification_input(q);
    REQUIRE(s);
    CHECK(*s ==
          "client/pc/el/\xCE\xA8 0.11<client/pc/en/Psi 0.11<http://jabber.org/protocol/caps<"
          "http://jabber.org/protocol/disco#info<http://jabber.org/protocol/disco#items<"
          "http://jabber.org/protocol/muc<urn:xmpp:dataforms:softwareinfo<"
          "ip_version<ipv4<ipv6<os<Mac<os_version<10.5.1<software<Psi<software_version<0.11<");
    CHECK(caps::verification_string(q, caps::HashAlgorithm::sha1) == "q07IKJEyjvHSyhy//CH0CxmKi8w=");
}

TEST_CASE("sha-256 gives a 44-character ver and only the two IANA names are known") {
    auto ver = caps::verification_string(simple_example(), caps::HashAlgorithm::sha256);
    REQUIRE(ver);
    CHECK(ver->size() == 44);
    CHECK(*ver != "QgayPKawpkPSDYmwT/WM94uAlu0=");
    CHECK(caps::hash_from_name("sha-1") == caps::HashAlgorithm::sha1);
    CHECK(caps::hash_from_name("sha-256") == caps::HashAlgorithm::sha256);
    CHECK_FALSE(caps::hash_from_name("md5"));
    CHECK_FALSE(caps::hash_from_name(""));
}

TEST_CASE("ill-formed answers never verify (XEP-0115 5.4)") {
    SUBCASE("the same identity twice") {
        Element q = simple_example();
        identity(q, "client", "pc", "Exodus 0.9.1");
        CHECK_FALSE(caps::verification_input(q));
    }
    SUBCASE("the same feature twice") {
        Element q = simple_example();
        feature(q, "http://jabber.org/protocol/muc");
        CHECK_FALSE(caps::verification_input(q));
    }
    SUBCASE("two forms with one FORM_TYPE") {
        Element q = complex_example();
        q.add_child(softwareinfo_form());
        CHECK_FALSE(caps::verification_input(q));
    }
    SUBCASE("a FORM_TYPE with two different values") {
        Element q = simple_example();
        Element x("x", std::string(ns::data_forms));
        field(x, "FORM_TYPE", {"urn:a", "urn:b"}, "hidden");
        q.add_child(std::move(x));
        CHECK_FALSE(caps::verification_input(q));
    }
    SUBCASE("an ill-formed answer does not match even the ver of its well-formed part") {
        Element q = simple_example();
        feature(q, "http://jabber.org/protocol/caps");
        CHECK_FALSE(caps::matches(q, caps::HashAlgorithm::sha1, "QgayPKawpkPSDYmwT/WM94uAlu0="));
    }
}

TEST_CASE("forms without a hidden FORM_TYPE are left out of the hash") {
    const std::string simple_ver = "QgayPKawpkPSDYmwT/WM94uAlu0=";
    SUBCASE("no FORM_TYPE at all") {
        Element q = simple_example();
        Element x("x", std::string(ns::data_forms));
        field(x, "os", {"Mac"});
        q.add_child(std::move(x));
        CHECK(caps::verification_string(q, caps::HashAlgorithm::sha1) == simple_ver);
    }
    SUBCASE("a FORM_TYPE of another type") {
        Element q = simple_example();
        q.add_child(softwareinfo_form("text-single"));
        CHECK(caps::verification_string(q, caps::HashAlgorithm::sha1) == simple_ver);
        CHECK(caps::matches(q, caps::HashAlgorithm::sha1, simple_ver));
    }
    SUBCASE("an untyped FORM_TYPE matches either reading") {
        Element q = simple_example();
        q.add_child(softwareinfo_form(""));
        CHECK(caps::verification_string(q, caps::HashAlgorithm::sha1) == simple_ver);
        auto with_form = caps::verification_string(q, caps::HashAlgorithm::sha1, caps::UntypedFormType::include_form);
        REQUIRE(with_form);
        CHECK(*with_form != simple_ver);
        CHECK(caps::matches(q, caps::HashAlgorithm::sha1, simple_ver));
        CHECK(caps::matches(q, caps::HashAlgorithm::sha1, *with_form));
    }
}
