#include "server/c2s/sasl_negotiation.hpp"

#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <array>

#include "protocol/jid.hpp"
#include "server/log.hpp"
#include "storage/user_store.hpp"

namespace parley::server::c2s {

using protocol::sasl::Failure;
using protocol::sasl::Hash;
using Outcome = SaslNegotiation::Outcome;

namespace {

constexpr std::array<std::string_view, 7> all_mechanisms = {
    "SCRAM-SHA-512-PLUS", "SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-512",
    "SCRAM-SHA-256",      "SCRAM-SHA-1",        "PLAIN"};

bool is_plus(std::string_view m) { return m.ends_with("-PLUS"); }

Hash scram_hash(std::string_view m) {
    if (m.starts_with("SCRAM-SHA-512")) return Hash::sha512;
    if (m.starts_with("SCRAM-SHA-256")) return Hash::sha256;
    return Hash::sha1;
}

Outcome fail(Failure f) { return Outcome{Outcome::Kind::failure, {}, f, {}}; }

}  // namespace

std::vector<std::string> offered_mechanisms(const Config& config, bool tls) {
    if (!tls && config.c2s.require_tls) return {};
    std::vector<std::string> out;
    for (auto m : all_mechanisms) {
        if (is_plus(m) && !tls) continue;
        if (m == "PLAIN" && !tls) continue;  // never a password in the clear
        const auto& allowed = config.auth.mechanisms;
        if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), m) == allowed.end()) continue;
        out.emplace_back(m);
    }
    return out;
}

SaslNegotiation::SaslNegotiation(const Config& config, storage::Database& db, std::string domain,
                                 std::string mechanism, protocol::sasl::ChannelBindings bindings)
    : config_(config), db_(db), domain_(std::move(domain)), mechanism_(std::move(mechanism)),
      bindings_(std::move(bindings)) {}

boost::asio::awaitable<std::optional<std::vector<protocol::sasl::ScramCredential>>> SaslNegotiation::lookup(
    const std::string& localpart) {
    // Named locals, not temporaries inside the co_await expression: GCC 12 relocates
    // such temporaries bitwise, which corrupts std::string members.
    const std::string key = domain_ + "/" + localpart;  // routing::account_key's form
    auto query = [d = domain_, l = localpart](pqxx::connection& c) {
        return storage::user_store::credentials(c, d, l);
    };
    auto result = co_await db_.run<std::vector<protocol::sasl::ScramCredential>>(key, std::move(query),
                                                                                  boost::asio::use_awaitable);
    if (!result) {
        spdlog::error("sasl_lookup_failed domain={} error={}", domain_, result.error().message());
        co_return std::nullopt;
    }
    co_return std::move(*result);
}

boost::asio::awaitable<Outcome> SaslNegotiation::start(std::optional<std::string> initial_response) {
    if (!initial_response) {
        // RFC 6120 §6.4.2: no initial response → an empty challenge asks for it.
        step_ = 0;
        co_return Outcome{Outcome::Kind::challenge, {}, {}, {}};
    }
    co_return co_await respond(std::move(*initial_response));
}

boost::asio::awaitable<Outcome> SaslNegotiation::respond(std::string response) {
    if (mechanism_ == "PLAIN") {
        if (step_++ != 0) co_return fail(Failure::malformed_request);
        co_return co_await plain(response);
    }
    if (step_ == 0) {
        ++step_;
        co_return co_await scram_first(response);
    }
    if (step_ == 1) {
        ++step_;
        co_return scram_final(response);
    }
    co_return fail(Failure::malformed_request);
}

boost::asio::awaitable<Outcome> SaslNegotiation::plain(const std::string& message) {
    auto parsed = protocol::sasl::parse_plain(message);
    if (auto* f = std::get_if<Failure>(&parsed)) co_return fail(*f);
    auto& req = std::get<protocol::sasl::PlainRequest>(parsed);
    auto local = protocol::Jid::prep_localpart(req.authcid);
    if (!local) co_return fail(Failure::not_authorized);
    if (!req.authzid.empty() && req.authzid != *local + "@" + domain_) co_return fail(Failure::invalid_authzid);
    auto creds = co_await lookup(*local);
    if (!creds) co_return fail(Failure::temporary_auth_failure);
    // Any stored hash verifies the password; prefer the strongest.
    const protocol::sasl::ScramCredential* best = nullptr;
    for (const auto& c : *creds) {
        if (!best || static_cast<int>(c.hash) > static_cast<int>(best->hash)) best = &c;
    }
    if (!best || !protocol::sasl::verify_password(*best, req.password)) co_return fail(Failure::not_authorized);
    co_return Outcome{Outcome::Kind::success, {}, {}, *local};
}

boost::asio::awaitable<Outcome> SaslNegotiation::scram_first(const std::string& message) {
    const Hash hash = scram_hash(mechanism_);
    scram_.emplace(hash, is_plus(mechanism_), bindings_);
    auto first = scram_->client_first(message);
    if (auto* f = std::get_if<Failure>(&first)) co_return fail(*f);
    auto& cf = std::get<protocol::sasl::ScramServer::ClientFirst>(first);
    std::optional<protocol::sasl::ScramCredential> cred;
    auto local = protocol::Jid::prep_localpart(cf.username);
    if (local) {
        if (!cf.authzid.empty() && cf.authzid != *local + "@" + domain_) co_return fail(Failure::invalid_authzid);
        auto creds = co_await lookup(*local);
        if (!creds) co_return fail(Failure::temporary_auth_failure);
        for (auto& c : *creds) {
            if (c.hash == hash) cred = std::move(c);
        }
        localpart_ = *local;
    }
    co_return Outcome{Outcome::Kind::challenge, scram_->server_first(cred, config_.auth.scram_iterations), {}, {}};
}

Outcome SaslNegotiation::scram_final(const std::string& message) {
    auto final_result = scram_->client_final(message);
    if (auto* f = std::get_if<Failure>(&final_result)) return fail(*f);
    if (localpart_.empty()) return fail(Failure::not_authorized);
    return Outcome{Outcome::Kind::success, std::move(std::get<std::string>(final_result)), {}, localpart_};
}

}  // namespace parley::server::c2s
