// parleyctl: account administration and set-up checks, run next to parleyd.
// Exit status: 0 done, 1 failed (the reason is on stderr).
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <future>
#include <iostream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "protocol/jid.hpp"
#include "protocol/sasl/sasl.hpp"
#include "protocol/sasl/scram.hpp"
#include "server/config.hpp"
#include "storage/database.hpp"
#include "storage/user_store.hpp"

namespace {

using namespace parley;
namespace us = storage::user_store;
using protocol::sasl::Hash;
using protocol::sasl::ScramCredential;

constexpr const char* usage_text = R"(usage: parleyctl [--config FILE] COMMAND ...

  adduser JID [--password P]  create an account; without --password, one line is
                              read from stdin as the password
  adduser --batch             create accounts from "JID PASSWORD" lines on stdin
  passwd JID [--password P]   set a new password
  deluser JID                 delete an account and everything stored for it
  users [DOMAIN]              list accounts, of every served domain or of one
  check                       check the config, the TLS certificate and the database
  migrate                     bring the database schema up to date

FILE defaults to $PARLEY_CONFIG, else ./conf/parley.toml.
)";

// Thrown for a failure whose message is already written for the user.
struct Failure : std::runtime_error {
    using std::runtime_error::runtime_error;
};

std::string db_error(const boost::system::error_code& ec) {
    std::string detail = storage::last_error_message();
    while (!detail.empty() && (detail.back() == '\n' || detail.back() == ' ')) detail.pop_back();
    return "database: " + ec.message() + (detail.empty() ? "" : ": " + detail);
}

template <class T>
T unwrap(storage::Result<T> r) {
    if (!r) throw Failure(db_error(r.error()));
    if constexpr (!std::is_void_v<T>) return std::move(*r);
}

struct Account {
    std::string domain, localpart;
    std::string bare() const { return localpart + "@" + domain; }
};

// Empty optional and a reason when `text` is not an account JID this server hosts.
std::optional<Account> parse_account(const server::Config& config, std::string_view text,
                                     std::string& why) {
    auto jid = protocol::Jid::parse(text);
    if (!jid) return why = "not a valid JID", std::nullopt;
    if (!jid->has_local()) return why = "the JID has no localpart (user@domain)", std::nullopt;
    if (jid->has_resource()) return why = "an account JID has no resource", std::nullopt;
    if (!config.serves(jid->domain()))
        return why = "this server does not host " + jid->domain(), std::nullopt;
    return Account{jid->domain(), jid->local()};
}

Account account_arg(const server::Config& config, std::string_view text) {
    std::string why;
    auto account = parse_account(config, text, why);
    if (!account) throw Failure(std::string(text) + ": " + why);
    return *account;
}

// A password as SCRAM needs it (PRECIS OpaqueString), or a reason it is unusable.
std::optional<std::string> prepare_password(std::string_view password, std::string& why) {
    if (password.empty()) return why = "the password is empty", std::nullopt;
    auto prepared = protocol::sasl::saslprep(password);
    if (!prepared || prepared->empty())
        return why = "the password has characters PRECIS OpaqueString forbids", std::nullopt;
    return prepared;
}

std::vector<ScramCredential> make_credentials(const std::string& password,
                                              std::uint32_t iterations) {
    std::vector<ScramCredential> out;
    for (Hash h : {Hash::sha1, Hash::sha256, Hash::sha512})
        out.push_back(protocol::sasl::make_scram_credential(h, password, iterations));
    return out;
}

std::string read_password_line() {
    const bool tty = isatty(STDIN_FILENO);
    termios saved{};
    if (tty) {
        std::cerr << "Password: " << std::flush;
        tcgetattr(STDIN_FILENO, &saved);
        termios quiet = saved;
        quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
        tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
    }
    std::string line;
    bool got = static_cast<bool>(std::getline(std::cin, line));
    if (tty) {
        tcsetattr(STDIN_FILENO, TCSANOW, &saved);
        std::cerr << "\n";
    }
    if (!got) throw Failure("no password given (use --password P or write one line to stdin)");
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return line;
}

// "JID [--password P]": the account and its prepared password.
std::pair<Account, std::string> account_and_password(const server::Config& config,
                                                     const std::vector<std::string>& args,
                                                     const char* command) {
    std::optional<std::string> jid, password;
    for (std::size_t i = 0; i < args.size(); ++i) {
        if (args[i] == "--password" && i + 1 < args.size())
            password = args[++i];
        else if (!jid && !args[i].starts_with("-"))
            jid = args[i];
        else
            throw Failure(std::string(command) + ": unexpected argument " + args[i]);
    }
    if (!jid) throw Failure(std::string(command) + ": which JID?");
    Account account = account_arg(config, *jid);
    std::string why;
    auto prepared = prepare_password(password ? *password : read_password_line(), why);
    if (!prepared) throw Failure(why);
    return {account, *prepared};
}

int adduser(const server::Config& config, storage::Database& db,
            const std::vector<std::string>& args) {
    auto [account, password] = account_and_password(config, args, "adduser");
    auto creds = make_credentials(password, config.auth.scram_iterations);
    bool created = unwrap(db.run_sync<bool>(account.bare(), [&](pqxx::connection& c) {
        return us::create(c, account.domain, account.localpart, creds);
    }));
    if (!created) throw Failure(account.bare() + ": the account already exists");
    std::cerr << "created " << account.bare() << "\n";
    return 0;
}

int passwd(const server::Config& config, storage::Database& db,
           const std::vector<std::string>& args) {
    auto [account, password] = account_and_password(config, args, "passwd");
    auto creds = make_credentials(password, config.auth.scram_iterations);
    bool changed = unwrap(db.run_sync<bool>(account.bare(), [&](pqxx::connection& c) {
        return us::set_credentials(c, account.domain, account.localpart, creds);
    }));
    if (!changed) throw Failure(account.bare() + ": no such account");
    std::cerr << "password changed for " << account.bare() << "\n";
    return 0;
}

int deluser(const server::Config& config, storage::Database& db,
            const std::vector<std::string>& args) {
    if (args.size() != 1) throw Failure("usage: parleyctl deluser JID");
    Account account = account_arg(config, args[0]);
    bool removed = unwrap(db.run_sync<bool>(account.bare(), [&](pqxx::connection& c) {
        return us::remove(c, account.domain, account.localpart);
    }));
    if (!removed) throw Failure(account.bare() + ": no such account");
    std::cerr << "deleted " << account.bare() << "\n";
    return 0;
}

int users(storage::Database& db, const std::vector<std::string>& args) {
    if (args.size() > 1) throw Failure("usage: parleyctl users [DOMAIN]");
    std::string domain;
    if (!args.empty()) {
        auto prepared = protocol::Jid::prep_domain(args[0]);
        if (!prepared) throw Failure(args[0] + ": not a valid domain name");
        domain = *prepared;
    }
    auto list = unwrap(db.run_sync<std::vector<std::string>>(
        "", [&](pqxx::connection& c) { return us::list(c, domain); }));
    for (const std::string& jid : list) std::cout << jid << "\n";
    return 0;
}

int batch_adduser(const server::Config& config, storage::Database& db);

std::string openssl_error() {
    unsigned long e = ERR_get_error();
    char buf[256] = "unknown OpenSSL error";
    if (e) ERR_error_string_n(e, buf, sizeof buf);
    ERR_clear_error();
    return buf;
}

// The same three calls the server makes to load them, so "ok" here means it will.
bool check_tls(const server::Config& config) {
    if (config.tls.certificate.empty()) {
        std::cout << "tls: no certificate configured; parleyd makes a self-signed one in "
                  << (config.state_dir / "tls").string() << " at start\n";
        return true;
    }
    SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
    std::string problem;
    if (!ctx)
        problem = "cannot create a TLS context: " + openssl_error();
    else if (SSL_CTX_use_certificate_chain_file(ctx, config.tls.certificate.c_str()) != 1)
        problem = config.tls.certificate.string() + ": " + openssl_error();
    else if (SSL_CTX_use_PrivateKey_file(ctx, config.tls.key.c_str(), SSL_FILETYPE_PEM) != 1)
        problem = config.tls.key.string() + ": " + openssl_error();
    else if (SSL_CTX_check_private_key(ctx) != 1)
        problem = "the key does not match the certificate: " + openssl_error();
    SSL_CTX_free(ctx);
    if (!problem.empty()) {
        std::cerr << "parleyctl: tls: " << problem << "\n";
        return false;
    }
    std::cout << "tls: " << config.tls.certificate.string() << " and its key are usable\n";
    return true;
}

int migrate(storage::Database& db) {
    unwrap(db.migrate());
    auto version = unwrap(db.run_sync<int>("", [](pqxx::connection& c) {
        pqxx::read_transaction t(c);
        return t.exec1("SELECT coalesce(max(version), 0) FROM schema_version")[0].as<int>();
    }));
    std::cout << "database: schema at version " << version << "\n";
    return 0;
}

int check(const server::Config& config, storage::Database& db) {
    std::cout << "config: " << config.file.string() << " is valid; hosts:";
    for (const auto& h : config.hosts) std::cout << " " << h;
    std::cout << "\n";
    bool ok = check_tls(config);
    try {
        migrate(db);
    } catch (const Failure& e) {
        std::cerr << "parleyctl: " << e.what() << "\n";
        ok = false;
    }
    return ok ? 0 : 1;
}

std::filesystem::path default_config() {
    if (const char* env = std::getenv("PARLEY_CONFIG"); env && *env) return env;
    return "conf/parley.toml";
}

int run(std::vector<std::string> args) {
    std::filesystem::path config_file = default_config();
    while (!args.empty() && args.front().starts_with("-")) {
        if (args.front() == "-h" || args.front() == "--help") {
            std::cout << usage_text;
            return 0;
        }
        if (args.front() != "--config" || args.size() < 2)
            throw Failure("unknown option " + args.front() + "\n" + usage_text);
        config_file = args[1];
        args.erase(args.begin(), args.begin() + 2);
    }
    if (args.empty()) throw Failure(std::string("no command\n") + usage_text);
    const std::string command = args.front();
    args.erase(args.begin());

    const server::Config config = server::load_config(config_file);
    storage::Database db(config.storage.postgres, 1);
    if (command == "adduser" && !args.empty() && args[0] == "--batch") {
        if (args.size() != 1) throw Failure("usage: parleyctl adduser --batch < FILE");
        return batch_adduser(config, db);
    }
    if (command == "adduser") return adduser(config, db, args);
    if (command == "passwd") return passwd(config, db, args);
    if (command == "deluser") return deluser(config, db, args);
    if (command == "users") return users(db, args);
    if (command == "check" && args.empty()) return check(config, db);
    if (command == "migrate" && args.empty()) return migrate(db);
    throw Failure("unknown command or arguments: " + command + "\n" + usage_text);
}

// ---- adduser --batch ---------------------------------------------------------------
// Lines are read in chunks; a chunk's credentials are made on every core while the
// previous chunk is being inserted, so the database and the CPUs work at once.

struct Parsed {
    us::NewAccount account;
    std::string password;
};

constexpr std::size_t batch_chunk = 2000;

// Fills chunk with up to batch_chunk valid lines; reports invalid ones. false at EOF.
bool read_chunk(const server::Config& config, std::size_t& line_no, std::vector<Parsed>& chunk,
                std::size_t& invalid) {
    chunk.clear();
    std::string line;
    while (chunk.size() < batch_chunk && std::getline(std::cin, line)) {
        ++line_no;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        auto start = line.find_first_not_of(" \t");
        if (start == std::string::npos || line[start] == '#') continue;  // blank or comment
        auto end = line.find_first_of(" \t", start);
        auto pw_start = end == std::string::npos ? end : line.find_first_not_of(" \t", end);
        std::string why = "expected \"JID PASSWORD\"";
        std::optional<Account> account;
        std::optional<std::string> password;
        if (pw_start != std::string::npos)
            account = parse_account(config, line.substr(start, end - start), why);
        if (account) password = prepare_password(line.substr(pw_start), why);
        if (!password) {
            ++invalid;
            std::cerr << "line " << line_no << ": " << why << "\n";
            continue;
        }
        chunk.push_back({{account->domain, account->localpart, {}}, *password});
    }
    return !chunk.empty() || std::cin.good();
}

void hash_all(std::vector<Parsed>& chunk, std::uint32_t iterations) {
    unsigned workers = std::max(1u, std::thread::hardware_concurrency());
    std::vector<std::thread> threads;
    for (unsigned w = 0; w < workers; ++w)
        threads.emplace_back([&, w] {
            for (std::size_t i = w; i < chunk.size(); i += workers)
                chunk[i].account.creds = make_credentials(chunk[i].password, iterations);
        });
    for (auto& t : threads) t.join();
}

int batch_adduser(const server::Config& config, storage::Database& db) {
    std::size_t line_no = 0, invalid = 0, valid = 0, created = 0;
    std::future<storage::Result<std::size_t>> inserting;
    auto finish_insert = [&] {
        if (inserting.valid()) created += unwrap(inserting.get());
    };
    std::vector<Parsed> chunk;
    while (read_chunk(config, line_no, chunk, invalid)) {
        hash_all(chunk, config.auth.scram_iterations);
        valid += chunk.size();
        std::vector<us::NewAccount> accounts;
        accounts.reserve(chunk.size());
        for (auto& p : chunk) accounts.push_back(std::move(p.account));
        finish_insert();
        inserting = std::async(std::launch::async, [&db, accounts = std::move(accounts)] {
            return db.run_sync<std::size_t>(
                "", [&](pqxx::connection& c) { return us::create_many(c, accounts); });
        });
    }
    finish_insert();
    std::cerr << "created " << created << ", skipped " << valid - created
              << " (already existed), invalid " << invalid << " line(s)\n";
    return invalid == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return run(std::vector<std::string>(argv + 1, argv + argc));
    } catch (const std::exception& e) {
        std::cerr << "parleyctl: " << e.what() << "\n";
        return 1;
    }
}
