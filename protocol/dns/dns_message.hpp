#pragma once
// DNS wire format (RFC 1035 §4, SRV per RFC 2782, AAAA per RFC 3596): build queries,
// parse responses from untrusted servers without ever reading out of bounds, and build
// responses (for the test responder). Pure: no sockets, no allocation beyond the result.
#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace parley::protocol::dns {

// Record types we decode; any other value is carried as raw rdata.
enum class RecordType : std::uint16_t {
    a = 1, ns = 2, cname = 5, soa = 6, ptr = 12, mx = 15, txt = 16, aaaa = 28, srv = 33,
    opt = 41, any = 255,
};
inline constexpr std::uint16_t class_in = 1;

enum class Rcode : std::uint8_t {
    no_error = 0, format_error = 1, server_failure = 2, name_error = 3 /* NXDOMAIN */,
    not_implemented = 4, refused = 5,
};

struct Question {
    std::string name;  // presentation form without trailing dot, "_xmpp-server._tcp.example.org"
    RecordType type = RecordType::a;
    std::uint16_t qclass = class_in;
};

struct SrvData {
    std::uint16_t priority = 0;
    std::uint16_t weight = 0;
    std::uint16_t port = 0;
    std::string target;  // "." (RFC 2782: service decidedly not available) stays "."
};
struct CnameData { std::string target; };
using Ipv4 = std::array<std::uint8_t, 4>;
using Ipv6 = std::array<std::uint8_t, 16>;
using RawData = std::vector<std::uint8_t>;
// The rdata, decoded by type: A → Ipv4, AAAA → Ipv6, SRV → SrvData, CNAME → CnameData,
// everything else (and malformed rdata of a known type is an error, never Raw) → RawData.
using RecordData = std::variant<RawData, Ipv4, Ipv6, SrvData, CnameData>;

struct Record {
    std::string name;
    RecordType type = RecordType::a;
    std::uint16_t rclass = class_in;
    std::uint32_t ttl = 0;
    RecordData data;
};

struct Message {
    std::uint16_t id = 0;
    bool is_response = false;   // QR
    std::uint8_t opcode = 0;    // 0 = standard query
    bool authoritative = false; // AA
    bool truncated = false;     // TC: the answer did not fit; retry over TCP
    bool recursion_desired = false;
    bool recursion_available = false;
    Rcode rcode = Rcode::no_error;  // low 4 bits of the header; extended rcodes not decoded
    std::vector<Question> questions;
    std::vector<Record> answers;
    std::vector<Record> authority;
    std::vector<Record> additional;
};

enum class DecodeError {
    none,
    truncated,        // the packet ends inside the header, a name or a record
    bad_label,        // a reserved label type (0x40/0x80)
    bad_pointer,      // a compression pointer that does not point backwards into the packet
    name_too_long,    // more than 255 octets (RFC 1035 §3.1)
    bad_rdata,        // rdata of a known type with the wrong length or a bad name inside
};
std::string_view to_string(DecodeError e);

// A decoded message, or why there is none. When the header says TC and the body is cut
// short, `message` holds the header, the questions and every record that was complete,
// and `error` says truncated: the caller decides whether that partial answer is enough.
struct DecodeResult {
    std::optional<Message> message;
    DecodeError error = DecodeError::none;
    bool ok() const { return error == DecodeError::none; }
};
DecodeResult decode(std::span<const std::uint8_t> packet);

// The wire form of `m`, names compressed (RFC 1035 §4.1.4). nullopt when a name is not
// encodable: an empty label, a label over 63 octets, a name over 255 octets, or more
// than 65535 entries in a section.
std::optional<std::vector<std::uint8_t>> encode(const Message& m);

// A standard query with one question and RD set.
std::optional<std::vector<std::uint8_t>> make_query(std::uint16_t id, std::string_view name, RecordType type);

// A name is valid for queries when it encodes: labels of 1..63 octets, 255 in total.
// Presentation escapes "\." "\\" and "\DDD" are understood, as decode() produces them.
bool is_valid_name(std::string_view name);
// Case-insensitive in ASCII (RFC 4343), a trailing dot ignored.
bool names_equal(std::string_view a, std::string_view b);

}  // namespace parley::protocol::dns
