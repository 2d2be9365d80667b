// SCRAM server: the RFC 5802 and RFC 7677 exchanges byte for byte, then a small
// independent client (below) drives SHA-512, -PLUS with both binding types, and
// every way an exchange should fail.
#include <doctest/doctest.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <functional>
#include <string>

#include "protocol/sasl/scram.hpp"

using namespace parley::protocol::sasl;

namespace {

// ---- a minimal SCRAM client, written from RFC 5802 §3 independently of the server ---

const EVP_MD* evp(Hash h) {
    return h == Hash::sha1 ? EVP_sha1() : h == Hash::sha256 ? EVP_sha256() : EVP_sha512();
}

std::string mac(Hash h, const std::string& key, const std::string& data) {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(evp(h), key.data(), static_cast<int>(key.size()),
         reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
    return std::string(reinterpret_cast<char*>(out), len);
}

// The value of attribute `name` in a SCRAM message ("r=...,s=...,i=...").
std::string attr(const std::string& msg, char name) {
    std::size_t start = 0;
    for (;;) {
        const auto end = msg.find(',', start);
        const std::string part = msg.substr(start, end == std::string::npos ? end : end - start);
        if (part.size() >= 2 && part[0] == name && part[1] == '=') return part.substr(2);
        REQUIRE(end != std::string::npos);
        start = end + 1;
    }
}

std::string escape_name(const std::string& s) {
    std::string out;
    for (char c : s) out += c == ',' ? "=2C" : c == '=' ? "=3D" : std::string(1, c);
    return out;
}

struct TestClient {
    TestClient(Hash h, std::string u, std::string p, std::string n = "clientnonce")
        : hash(h), user(std::move(u)), password(std::move(p)), cnonce(std::move(n)) {}

    Hash hash;
    std::string user, password, cnonce;
    std::string gs2 = "n,,";  // e.g. "p=tls-exporter,,"
    std::string cb_data;      // what the client's TLS layer says
    std::string first_bare, expected_server_final;

    std::string first() {
        first_bare = "n=" + escape_name(user) + ",r=" + cnonce;
        return gs2 + first_bare;
    }

    std::string final_for(const std::string& server_first, std::string nonce = {}) {
        if (nonce.empty()) nonce = attr(server_first, 'r');
        auto salt = base64_decode(attr(server_first, 's'));
        REQUIRE(salt);
        const int iterations = std::stoi(attr(server_first, 'i'));
        std::string salted(static_cast<std::size_t>(EVP_MD_get_size(evp(hash))), '\0');
        PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                          reinterpret_cast<const unsigned char*>(salt->data()),
                          static_cast<int>(salt->size()), iterations, evp(hash),
                          static_cast<int>(salted.size()),
                          reinterpret_cast<unsigned char*>(salted.data()));
        const std::string client_key = mac(hash, salted, "Client Key");
        unsigned char stored[EVP_MAX_MD_SIZE];
        unsigned int stored_len = 0;
        EVP_Digest(client_key.data(), client_key.size(), stored, &stored_len, evp(hash), nullptr);
        const std::string without_proof = "c=" + base64_encode(gs2 + cb_data) + ",r=" + nonce;
        const std::string auth = first_bare + "," + server_first + "," + without_proof;
        const std::string signature =
            mac(hash, std::string(reinterpret_cast<char*>(stored), stored_len), auth);
        std::string proof = client_key;
        for (std::size_t i = 0; i < proof.size(); ++i) proof[i] ^= signature[i];
        expected_server_final = "v=" + base64_encode(mac(hash, mac(hash, salted, "Server Key"), auth));
        return without_proof + ",p=" + base64_encode(proof);
    }
};

ChannelBindings tls_bindings(bool plus_offered = true) {
    return ChannelBindings{"exporter-bytes-32-long-aaaaaaaaaa", "server-cert-hash", plus_offered};
}

Failure failure_of(const std::variant<ScramServer::ClientFirst, Failure>& r) {
    REQUIRE(std::holds_alternative<Failure>(r));
    return std::get<Failure>(r);
}
Failure failure_of(const std::variant<std::string, Failure>& r) {
    REQUIRE(std::holds_alternative<Failure>(r));
    return std::get<Failure>(r);
}

constexpr std::uint32_t fast_iterations = 64;  // tests need not be slow

}  // namespace

TEST_CASE("scram: RFC 5802 §5 SCRAM-SHA-1 example, byte-exact") {
    const auto salt = base64_decode("QSXCR+Q6sek8bf92");
    REQUIRE(salt);
    const auto cred = make_scram_credential(Hash::sha1, "pencil", *salt, 4096);
    ScramServer server(Hash::sha1, false, {});
    server.set_nonce_for_test("3rfcNHYJY1ZVvWVs7j");
    auto first = server.client_first("n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL");
    REQUIRE(std::holds_alternative<ScramServer::ClientFirst>(first));
    CHECK(std::get<ScramServer::ClientFirst>(first).username == "user");
    CHECK(std::get<ScramServer::ClientFirst>(first).authzid.empty());
    CHECK(server.server_first(cred) ==
          "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096");
    auto final = server.client_final(
        "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=");
    REQUIRE(std::holds_alternative<std::string>(final));
    CHECK(std::get<std::string>(final) == "v=rmF9pqV8S7suAoZWja4dJRkFsKQ=");
}

TEST_CASE("scram: RFC 7677 §3 SCRAM-SHA-256 example, byte-exact") {
    const auto salt = base64_decode("W22ZaJ0SNY7soEsUEjb6gQ==");
    REQUIRE(salt);
    const auto cred = make_scram_credential(Hash::sha256, "pencil", *salt, 4096);
    ScramServer server(Hash::sha256, false, {});
    server.set_nonce_for_test("%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0");
    REQUIRE(std::holds_alternative<ScramServer::ClientFirst>(
        server.client_first("n,,n=user,r=rOprNGfwEbeRWgbNEkqO")));
    const std::string server_first = server.server_first(cred);
    CHECK(server_first ==
          "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096");

    // The test client must produce the RFC's client-final too, or it proves nothing later.
    TestClient client{Hash::sha256, "user", "pencil", "rOprNGfwEbeRWgbNEkqO"};
    client.first();
    const std::string client_final = client.final_for(server_first);
    CHECK(client_final ==
          "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
          "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=");
    auto final = server.client_final(client_final);
    REQUIRE(std::holds_alternative<std::string>(final));
    CHECK(std::get<std::string>(final) == "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
    CHECK(client.expected_server_final == std::get<std::string>(final));
}

TEST_CASE("scram: full exchanges for every hash, with and without channel binding") {
    struct Variant {
        bool plus;
        const char* gs2;
        std::string ChannelBindings::*data;
    };
    const Variant variants[] = {
        {false, "n,,", nullptr},
        {false, "y,,", nullptr},
        {true, "p=tls-exporter,,", &ChannelBindings::tls_exporter},
        {true, "p=tls-server-end-point,,", &ChannelBindings::tls_server_end_point},
        {true, "p=tls-exporter,a=juliet@example.com,", &ChannelBindings::tls_exporter},
    };
    for (Hash hash : {Hash::sha1, Hash::sha256, Hash::sha512}) {
        for (const auto& v : variants) {
            CAPTURE(to_string(hash));
            CAPTURE(v.gs2);
            // 'y' is only fine when the server did not offer -PLUS.
            const bool offered = std::string(v.gs2) != "y,,";
            const ChannelBindings b = tls_bindings(offered);
            const auto cred = make_scram_credential(hash, "s3cret pass", fast_iterations);
            ScramServer server(hash, v.plus, b);
            TestClient client{hash, "Juliet", "s3cret pass", "abc123"};
            client.gs2 = v.gs2;
            if (v.data) client.cb_data = b.*v.data;
            auto first = server.client_first(client.first());
            REQUIRE(std::holds_alternative<ScramServer::ClientFirst>(first));
            CHECK(std::get<ScramServer::ClientFirst>(first).username == "juliet");
            const std::string server_first = server.server_first(cred);
            CHECK(server_first.starts_with("r=abc123"));
            CHECK(server_first.ends_with(",i=" + std::to_string(fast_iterations)));
            auto final = server.client_final(client.final_for(server_first));
            REQUIRE(std::holds_alternative<std::string>(final));
            CHECK(std::get<std::string>(final) == client.expected_server_final);
        }
    }
}

TEST_CASE("scram: authzid and escaped usernames") {
    ScramServer server(Hash::sha256, false, {});
    auto r = server.client_first("n,a=admin=2Cx@example.com,n=a=2Cb=3DC,r=xyz");
    REQUIRE(std::holds_alternative<ScramServer::ClientFirst>(r));
    CHECK(std::get<ScramServer::ClientFirst>(r).username == "a,b=c");
    CHECK(std::get<ScramServer::ClientFirst>(r).authzid == "admin,x@example.com");

    ScramServer wide(Hash::sha256, false, {});
    r = wide.client_first("n,,n=ＵＳＥＲ,r=xyz,x=ignored-extension");
    REQUIRE(std::holds_alternative<ScramServer::ClientFirst>(r));
    CHECK(std::get<ScramServer::ClientFirst>(r).username == "user");
}

TEST_CASE("scram: wrong password, tampered proof, wrong nonce") {
    const auto cred = make_scram_credential(Hash::sha512, "right", fast_iterations);
    auto run = [&](auto&& mutate) {
        ScramServer server(Hash::sha512, false, {});
        TestClient client{Hash::sha512, "user", "right"};
        REQUIRE(std::holds_alternative<ScramServer::ClientFirst>(server.client_first(client.first())));
        const std::string server_first = server.server_first(cred);
        return server.client_final(mutate(client, server_first));
    };
    // Sanity: unmodified succeeds.
    CHECK(std::holds_alternative<std::string>(
        run([](TestClient& c, const std::string& sf) { return c.final_for(sf); })));
    CHECK(failure_of(run([](TestClient& c, const std::string& sf) {
              c.password = "wrong";
              return c.final_for(sf);
          })) == Failure::not_authorized);
    CHECK(failure_of(run([](TestClient& c, const std::string& sf) {
              std::string msg = c.final_for(sf);
              const auto p = msg.rfind(",p=") + 3;
              auto proof = base64_decode(msg.substr(p));
              (*proof)[5] ^= 0x01;
              return msg.substr(0, p) + base64_encode(*proof);
          })) == Failure::not_authorized);
    CHECK(failure_of(run([](TestClient& c, const std::string& sf) {
              return c.final_for(sf, attr(sf, 'r') + "x");
          })) == Failure::not_authorized);
    CHECK(failure_of(run([](TestClient& c, const std::string& sf) {
              return c.final_for(sf, "clientnonce");  // only the client's half
          })) == Failure::not_authorized);
}

TEST_CASE("scram: channel-binding rules of RFC 5802 §6") {
    const auto cred = make_scram_credential(Hash::sha256, "pw", fast_iterations);
    SUBCASE("'y' when -PLUS was offered is a downgrade") {
        ScramServer server(Hash::sha256, false, tls_bindings(true));
        CHECK(failure_of(server.client_first("y,,n=user,r=abc")) == Failure::not_authorized);
    }
    SUBCASE("'p=' on a non-PLUS mechanism") {
        ScramServer server(Hash::sha256, false, tls_bindings());
        CHECK(failure_of(server.client_first("p=tls-exporter,,n=user,r=abc")) ==
              Failure::malformed_request);
    }
    SUBCASE("a PLUS mechanism without 'p='") {
        ScramServer n(Hash::sha256, true, tls_bindings());
        CHECK(failure_of(n.client_first("n,,n=user,r=abc")) == Failure::malformed_request);
        ScramServer y(Hash::sha256, true, tls_bindings());
        CHECK(failure_of(y.client_first("y,,n=user,r=abc")) == Failure::malformed_request);
    }
    SUBCASE("unknown or unavailable binding types") {
        ScramServer unique(Hash::sha256, true, tls_bindings());
        CHECK(failure_of(unique.client_first("p=tls-unique,,n=user,r=abc")) == Failure::not_authorized);
        ScramServer none(Hash::sha256, true, ChannelBindings{"", "cert-hash", true});
        CHECK(failure_of(none.client_first("p=tls-exporter,,n=user,r=abc")) == Failure::not_authorized);
        ScramServer bad_name(Hash::sha256, true, tls_bindings());
        CHECK(failure_of(bad_name.client_first("p=tls_exporter!,,n=user,r=abc")) ==
              Failure::malformed_request);
    }
    SUBCASE("binding data that does not match") {
        ScramServer server(Hash::sha256, true, tls_bindings());
        TestClient client{Hash::sha256, "user", "pw"};
        client.gs2 = "p=tls-exporter,,";
        client.cb_data = "a different TLS connection";  // a man in the middle
        REQUIRE(std::holds_alternative<ScramServer::ClientFirst>(server.client_first(client.first())));
        CHECK(failure_of(server.client_final(client.final_for(server.server_first(cred)))) ==
              Failure::not_authorized);
    }
    SUBCASE("c= must repeat the gs2 header that was sent") {
        ScramServer server(Hash::sha256, false, tls_bindings(false));
        TestClient client{Hash::sha256, "user", "pw"};
        client.gs2 = "y,,";
        REQUIRE(std::holds_alternative<ScramServer::ClientFirst>(server.client_first(client.first())));
        const std::string sf = server.server_first(cred);
        client.gs2 = "n,,";  // claims afterwards that it never supported binding
        CHECK(failure_of(server.client_final(client.final_for(sf))) == Failure::not_authorized);
    }
}

TEST_CASE("scram: malformed client-first messages") {
    const char* bad[] = {
        "", "n", "n,", "n,,", "n,,n=user", "n,,r=abc", "n,,r=abc,n=user", "x,,n=user,r=abc",
        "nn,,n=user,r=abc", "n,,n=,r=abc", "n,,n=us=2Xer,r=abc", "n,,n=us=2,r=abc",
        "n,,n=us=,r=abc", "n,,m=ext,n=user,r=abc", "n,,n=user,r=", "n,,n=user,r=ab c",
        "n,,n=user,r=abc,1=x", "n,,n=user,r=abc,", "n,b=x,n=user,r=abc", "n,a=,n=user,r=abc",
        "n,a=x=41,n=user,r=abc", "p=,,n=user,r=abc", "n,,n=u\xffser,r=abc",
    };
    for (auto s : bad) {
        CAPTURE(s);
        ScramServer server(Hash::sha256, false, {});
        CHECK(failure_of(server.client_first(s)) == Failure::malformed_request);
    }
    ScramServer server(Hash::sha256, false, {});
    CHECK(failure_of(server.client_first("n,,n=foo bar,r=abc")) == Failure::not_authorized);
}

TEST_CASE("scram: malformed client-final messages") {
    const auto cred = make_scram_credential(Hash::sha256, "pw", fast_iterations);
    auto final_with = [&](auto&& make) {
        ScramServer server(Hash::sha256, false, {});
        TestClient client{Hash::sha256, "user", "pw"};
        REQUIRE(std::holds_alternative<ScramServer::ClientFirst>(server.client_first(client.first())));
        const std::string sf = server.server_first(cred);
        const std::string good = client.final_for(sf);
        return server.client_final(make(good, attr(sf, 'r')));
    };
    using S = const std::string&;
    const std::function<std::string(S, S)> makers[] = {
        [](S good, S) { return good.substr(0, good.rfind(",p=")); },          // no proof
        [](S good, S) { return good + ",x=y"; },                              // proof not last
        [](S good, S) { return "c=bi!s" + good.substr(6); },                  // bad base64 in c=
        [](S good, S) { return good.substr(0, good.rfind(",p=")) + ",p=abc"; },  // bad base64
        [](S good, S) { return good.substr(0, good.rfind(",p=")) + ",p=AAAA"; }, // short proof
        [](S good, S n) { return "r=" + n + ",c=biws" + good.substr(good.rfind(",p=")); },
        [](S good, S) { return "c=biws" + good.substr(good.rfind(",p=")); },  // no nonce
        [](S, S) { return std::string(); },
    };
    for (std::size_t i = 0; i < std::size(makers); ++i) {
        CAPTURE(i);
        CHECK(failure_of(final_with(makers[i])) == Failure::malformed_request);
    }
    // Extensions before the proof are allowed and covered by the signature.
    ScramServer server(Hash::sha256, false, {});
    TestClient client{Hash::sha256, "user", "pw"};
    REQUIRE(std::holds_alternative<ScramServer::ClientFirst>(server.client_first(client.first())));
    CHECK(std::holds_alternative<std::string>(server.client_final(client.final_for(server.server_first(cred)))));
}

TEST_CASE("scram: unknown users get a plausible challenge and fail at the end") {
    auto challenge_for = [](const std::string& user, Hash hash = Hash::sha256) {
        ScramServer server(hash, false, {});
        REQUIRE(std::holds_alternative<ScramServer::ClientFirst>(
            server.client_first("n,,n=" + user + ",r=abc")));
        return server.server_first(std::nullopt);
    };
    const std::string sf = challenge_for("nobody");
    CHECK(sf.starts_with("r=abc"));
    CHECK(sf.ends_with(",i=4096"));
    auto salt = base64_decode(attr(sf, 's'));
    REQUIRE(salt);
    CHECK(salt->size() == 16);
    // Deterministic per user, so two attempts look like one account's salt.
    CHECK(attr(challenge_for("nobody"), 's') == attr(sf, 's'));
    CHECK(attr(challenge_for("Nobody"), 's') == attr(sf, 's'));
    CHECK(attr(challenge_for("someone"), 's') != attr(sf, 's'));
    CHECK(attr(challenge_for("nobody", Hash::sha1), 's') != attr(sf, 's'));

    ScramServer server(Hash::sha256, false, {});
    TestClient client{Hash::sha256, "nobody", "guess"};
    REQUIRE(std::holds_alternative<ScramServer::ClientFirst>(server.client_first(client.first())));
    const std::string fake = server.server_first(std::nullopt, 8);
    CHECK(fake.ends_with(",i=8"));
    CHECK(failure_of(server.client_final(client.final_for(fake))) == Failure::not_authorized);

    // A credential for another hash is no credential.
    ScramServer mismatch(Hash::sha256, false, {});
    TestClient c2{Hash::sha256, "user", "pw"};
    REQUIRE(std::holds_alternative<ScramServer::ClientFirst>(mismatch.client_first(c2.first())));
    const auto sf2 = mismatch.server_first(make_scram_credential(Hash::sha1, "pw", fast_iterations));
    CHECK(failure_of(mismatch.client_final(c2.final_for(sf2))) == Failure::not_authorized);
}

TEST_CASE("scram: server nonces are random and steps run once, in order") {
    const auto cred = make_scram_credential(Hash::sha256, "pw", fast_iterations);
    ScramServer a(Hash::sha256, false, {}), b(Hash::sha256, false, {});
    REQUIRE(std::holds_alternative<ScramServer::ClientFirst>(a.client_first("n,,n=u,r=c")));
    REQUIRE(std::holds_alternative<ScramServer::ClientFirst>(b.client_first("n,,n=u,r=c")));
    const std::string na = attr(a.server_first(cred), 'r'), nb = attr(b.server_first(cred), 'r');
    CHECK(na.size() == 1 + 32);  // client nonce + base64 of 24 bytes
    CHECK(na != nb);
    CHECK(base64_decode(na.substr(1))->size() == 24);

    ScramServer early(Hash::sha256, false, {});
    CHECK(failure_of(early.client_final("c=biws,r=c,p=AAAA")) == Failure::malformed_request);
    ScramServer twice(Hash::sha256, false, {});
    REQUIRE(std::holds_alternative<ScramServer::ClientFirst>(twice.client_first("n,,n=u,r=c")));
    CHECK(failure_of(twice.client_first("n,,n=u,r=c")) == Failure::malformed_request);
    ScramServer skip(Hash::sha256, false, {});
    CHECK(skip.server_first(cred).empty());

    // After a failure the exchange is over, even if a good message follows.
    ScramServer done(Hash::sha256, false, {});
    TestClient client{Hash::sha256, "user", "pw"};
    REQUIRE(std::holds_alternative<ScramServer::ClientFirst>(done.client_first(client.first())));
    const std::string good = client.final_for(done.server_first(cred));
    CHECK(std::holds_alternative<Failure>(done.client_final("c=biws")));
    CHECK(failure_of(done.client_final(good)) == Failure::malformed_request);
}

TEST_CASE("scram: credentials and names") {
    const auto c1 = make_scram_credential(Hash::sha512, "pencil", fast_iterations);
    const auto c2 = make_scram_credential(Hash::sha512, "pencil", fast_iterations);
    CHECK(c1.salt.size() == 16);
    CHECK(c1.salt != c2.salt);
    CHECK(c1.stored_key.size() == 64);
    CHECK(c1.server_key.size() == 64);
    CHECK(c1.iterations == fast_iterations);
    CHECK(verify_password(c1, "pencil"));
    CHECK_FALSE(verify_password(c1, "Pencil"));
    CHECK_FALSE(verify_password(c1, ""));
    CHECK(make_scram_credential(Hash::sha1, "x", fast_iterations).stored_key.size() == 20);

    for (Hash h : {Hash::sha1, Hash::sha256, Hash::sha512})
        CHECK(hash_from_storage_name(storage_name(h)) == h);
    CHECK(to_string(Hash::sha1) == "SHA-1");
    CHECK(to_string(Hash::sha256) == "SHA-256");
    CHECK(to_string(Hash::sha512) == "SHA-512");
    CHECK_FALSE(hash_from_storage_name("md5").has_value());
    CHECK(to_string(ChannelBindingType::tls_exporter) == "tls-exporter");
    CHECK(to_string(ChannelBindingType::tls_server_end_point) == "tls-server-end-point");
}
