#include "support/dns_responder.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>

namespace parley::test {

namespace dns = protocol::dns;

namespace {

std::string key_of(std::string_view name) {
    std::string key(name);
    if (key.size() > 1 && key.back() == '.') key.pop_back();
    for (char& c : key)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return key;
}

int bind_loopback_udp() {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw std::runtime_error("dns responder: socket failed");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = 0;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        close(fd);
        throw std::runtime_error(std::string("dns responder: bind failed: ") + std::strerror(errno));
    }
    return fd;
}

}  // namespace

DnsResponder::DnsResponder() {
    if (pipe(wake_) != 0) throw std::runtime_error("dns responder: pipe failed");
    fd_ = bind_loopback_udp();
    decoy_fd_ = bind_loopback_udp();
    sockaddr_in addr{};
    socklen_t len = sizeof addr;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { run(); });
}

DnsResponder::~DnsResponder() {
    stopping_ = true;
    (void)!write(wake_[1], "x", 1);
    thread_.join();
    close(fd_);
    close(decoy_fd_);
    close(wake_[0]);
    close(wake_[1]);
}

void DnsResponder::add(std::string_view name, dns::RecordType type, dns::RecordData data) {
    std::lock_guard lock(mutex_);
    table_[key_of(name)].push_back({type, std::move(data)});
}

void DnsResponder::add_srv(std::string_view name, std::uint16_t priority, std::uint16_t weight, std::uint16_t port,
                           std::string_view target) {
    add(name, dns::RecordType::srv, dns::SrvData{priority, weight, port, std::string(target)});
}

void DnsResponder::add_a(std::string_view name, std::string_view ipv4) {
    dns::Ipv4 bytes;
    if (inet_pton(AF_INET, std::string(ipv4).c_str(), bytes.data()) != 1)
        throw std::invalid_argument("dns responder: not an IPv4 address: " + std::string(ipv4));
    add(name, dns::RecordType::a, bytes);
}

void DnsResponder::add_aaaa(std::string_view name, std::string_view ipv6) {
    dns::Ipv6 bytes;
    if (inet_pton(AF_INET6, std::string(ipv6).c_str(), bytes.data()) != 1)
        throw std::invalid_argument("dns responder: not an IPv6 address: " + std::string(ipv6));
    add(name, dns::RecordType::aaaa, bytes);
}

void DnsResponder::add_cname(std::string_view name, std::string_view target) {
    add(name, dns::RecordType::cname, dns::CnameData{std::string(target)});
}

void DnsResponder::set_rcode(std::string_view name, dns::Rcode rcode) {
    std::lock_guard lock(mutex_);
    rcodes_[key_of(name)] = rcode;
}

void DnsResponder::clear() {
    std::lock_guard lock(mutex_);
    table_.clear();
    rcodes_.clear();
}

void DnsResponder::set_forgery(Forgery f) {
    std::lock_guard lock(mutex_);
    forgery_ = f;
}

void DnsResponder::set_silent(bool silent) {
    std::lock_guard lock(mutex_);
    silent_ = silent;
}

std::vector<std::string> DnsResponder::questions() const {
    std::lock_guard lock(mutex_);
    return questions_;
}

// Call with mutex_ held.
std::vector<std::uint8_t> DnsResponder::answer(const dns::Message& query) {
    dns::Message r;
    r.id = query.id;
    r.is_response = true;
    r.opcode = query.opcode;
    r.authoritative = true;
    r.recursion_desired = query.recursion_desired;
    r.recursion_available = true;
    r.questions = query.questions;
    if (query.opcode != 0) {
        r.rcode = dns::Rcode::not_implemented;
    } else if (query.questions.size() != 1) {
        r.rcode = dns::Rcode::format_error;
    } else {
        const dns::Question& q = query.questions[0];
        if (auto forced = rcodes_.find(key_of(q.name)); forced != rcodes_.end()) {
            r.rcode = forced->second;
        } else {
            std::string owner = q.name;
            for (int hop = 0; hop < 8; ++hop) {
                auto it = table_.find(key_of(owner));
                if (it == table_.end()) {
                    if (hop == 0) r.rcode = dns::Rcode::name_error;
                    break;
                }
                const dns::CnameData* cname = nullptr;
                bool matched = false;
                for (const Entry& e : it->second) {
                    if (e.type == q.type || q.type == dns::RecordType::any) {
                        r.answers.push_back({owner, e.type, dns::class_in, 60, e.data});
                        matched = true;
                    } else if (e.type == dns::RecordType::cname) {
                        cname = &std::get<dns::CnameData>(e.data);
                    }
                }
                if (matched || !cname) break;
                r.answers.push_back({owner, dns::RecordType::cname, dns::class_in, 60, *cname});
                owner = cname->target;
            }
        }
    }
    auto wire = dns::encode(r);
    if (wire && wire->size() <= 512) return *wire;
    r.answers.clear();
    r.truncated = wire.has_value();
    if (!wire) r.rcode = dns::Rcode::server_failure;
    return dns::encode(r).value_or(std::vector<std::uint8_t>{});
}

void DnsResponder::run() {
    std::vector<std::uint8_t> buf(65536);
    while (!stopping_) {
        pollfd fds[2] = {{fd_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
        if (poll(fds, 2, -1) < 0) continue;
        if (fds[1].revents) break;
        sockaddr_storage peer{};
        socklen_t peer_len = sizeof peer;
        ssize_t n = recvfrom(fd_, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&peer), &peer_len);
        if (n <= 0) continue;
        auto decoded = dns::decode(std::span(buf.data(), static_cast<std::size_t>(n)));
        if (!decoded.ok() || decoded.message->is_response) continue;
        const dns::Message& query = *decoded.message;
        ++queries_;

        std::vector<std::uint8_t> reply;
        std::vector<std::uint8_t> decoy;
        int decoy_fd = fd_;
        {
            std::lock_guard lock(mutex_);
            for (const auto& q : query.questions)
                questions_.push_back(key_of(q.name) + "/" + std::to_string(static_cast<int>(q.type)));
            if (silent_) continue;
            reply = answer(query);
            if (forgery_ != Forgery::none && query.questions.size() == 1) {
                dns::Message fake = *dns::decode(reply).message;
                const dns::Question& q = query.questions[0];
                fake.rcode = dns::Rcode::no_error;
                fake.answers.clear();
                if (q.type == dns::RecordType::srv)
                    fake.answers.push_back({q.name, q.type, dns::class_in, 60, dns::SrvData{0, 0, 6666, "evil.invalid"}});
                else
                    fake.answers.push_back({q.name, dns::RecordType::a, dns::class_in, 60, dns::Ipv4{10, 6, 6, 6}});
                if (forgery_ == Forgery::wrong_id) fake.id = static_cast<std::uint16_t>(query.id ^ 0x5a5a);
                if (forgery_ == Forgery::wrong_question) fake.questions[0].name = "evil.invalid";
                if (forgery_ == Forgery::wrong_source) decoy_fd = decoy_fd_;
                decoy = dns::encode(fake).value_or(std::vector<std::uint8_t>{});
            }
        }
        if (!decoy.empty())
            sendto(decoy_fd, decoy.data(), decoy.size(), 0, reinterpret_cast<sockaddr*>(&peer), peer_len);
        if (!reply.empty())
            sendto(fd_, reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&peer), peer_len);
    }
}

}  // namespace parley::test
