#pragma once
// A small authoritative DNS server for tests, on 127.0.0.1 (UDP, an ephemeral port), so
// that name resolution in a test never leaves the machine. Parley's resolver and a real
// Prosody (through unbound's `forward = "127.0.0.1@PORT"`) both ask it. It answers from a
// table the test fills: names are case-insensitive and the question is echoed as it came
// (unbound randomizes case); an unknown name gets NXDOMAIN, a known name without records
// of the asked type an empty NOERROR; a CNAME is answered and followed inside the table.
// Responses set AA and, as a forwarder would, RA. UDP only: an answer over 512 octets is
// sent as an empty response with TC set (no TCP listener).
// Thread rule: every member may be called from any thread; answers come from its own.
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "protocol/dns/dns_message.hpp"

namespace parley::test {

class DnsResponder {
public:
    DnsResponder();
    ~DnsResponder();
    DnsResponder(const DnsResponder&) = delete;
    DnsResponder& operator=(const DnsResponder&) = delete;

    std::uint16_t port() const { return port_; }
    std::string endpoint() const { return "127.0.0.1:" + std::to_string(port_); }  // for dns_servers

    void add_srv(std::string_view name, std::uint16_t priority, std::uint16_t weight, std::uint16_t port,
                 std::string_view target);
    void add_a(std::string_view name, std::string_view ipv4);    // throws on a bad literal
    void add_aaaa(std::string_view name, std::string_view ipv6); // throws on a bad literal
    void add_cname(std::string_view name, std::string_view target);
    // Every query for `name` gets this rcode and no records (SERVFAIL, REFUSED, ...).
    void set_rcode(std::string_view name, protocol::dns::Rcode rcode);
    void clear();

    // What a misbehaving network would do, for the resolver's anti-spoofing tests: before
    // each real answer, send a forged one carrying an SRV/A record that points elsewhere.
    enum class Forgery {
        none,
        wrong_id,        // the id differs from the query's
        wrong_question,  // the right id, another name in the question
        wrong_source,    // the right id and question, sent from another port
    };
    void set_forgery(Forgery f);
    // Stop answering (queries are still counted): a server that times out.
    void set_silent(bool silent);

    std::size_t queries() const { return queries_.load(); }
    // The questions received, in order, as "name/TYPE" with the name lower-cased
    // ("_xmpp-server._tcp.example.org/33").
    std::vector<std::string> questions() const;

private:
    void run();
    std::vector<std::uint8_t> answer(const protocol::dns::Message& query);
    void add(std::string_view name, protocol::dns::RecordType type, protocol::dns::RecordData data);

    struct Entry {
        protocol::dns::RecordType type;
        protocol::dns::RecordData data;
    };
    int fd_ = -1;
    int decoy_fd_ = -1;
    int wake_[2] = {-1, -1};
    std::uint16_t port_ = 0;
    std::atomic<std::size_t> queries_{0};
    mutable std::mutex mutex_;
    std::map<std::string, std::vector<Entry>> table_;  // lower-cased name → records
    std::map<std::string, protocol::dns::Rcode> rcodes_;
    std::vector<std::string> questions_;
    Forgery forgery_ = Forgery::none;
    bool silent_ = false;
    std::atomic<bool> stopping_{false};
    std::thread thread_;
};

}  // namespace parley::test
