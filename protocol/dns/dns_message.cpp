#include "protocol/dns/dns_message.hpp"

#include <algorithm>
#include <utility>

namespace parley::protocol::dns {

namespace {

constexpr std::size_t header_size = 12;
constexpr std::size_t max_name_octets = 255;  // wire form, terminating zero included
constexpr std::size_t max_label_octets = 63;

using Labels = std::vector<std::string>;  // raw octets of each label

char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// Presentation form → raw labels; nullopt when not encodable. "." is the root.
std::optional<Labels> parse_labels(std::string_view name) {
    Labels labels;
    if (name == ".") return labels;
    if (name.empty()) return std::nullopt;
    std::string label;
    std::size_t wire = 1;
    auto finish = [&]() {
        if (label.empty() || label.size() > max_label_octets) return false;
        wire += 1 + label.size();
        labels.push_back(std::move(label));
        label.clear();
        return wire <= max_name_octets;
    };
    for (std::size_t i = 0; i < name.size(); ++i) {
        char c = name[i];
        if (c == '.') {
            if (!finish()) return std::nullopt;
            if (i + 1 == name.size()) return labels;  // one trailing dot: fully qualified
            continue;
        }
        if (c == '\\') {
            if (i + 1 >= name.size()) return std::nullopt;
            if (name[i + 1] >= '0' && name[i + 1] <= '9') {
                if (i + 3 >= name.size()) return std::nullopt;
                int value = 0;
                for (std::size_t k = 1; k <= 3; ++k) {
                    char d = name[i + k];
                    if (d < '0' || d > '9') return std::nullopt;
                    value = value * 10 + (d - '0');
                }
                if (value > 255) return std::nullopt;
                label.push_back(static_cast<char>(value));
                i += 3;
            } else {
                label.push_back(name[i + 1]);
                i += 1;
            }
            continue;
        }
        label.push_back(c);
    }
    if (!finish()) return std::nullopt;
    return labels;
}

void append_escaped_label(std::string& out, const std::uint8_t* data, std::size_t len) {
    for (std::size_t i = 0; i < len; ++i) {
        std::uint8_t b = data[i];
        if (b == '.' || b == '\\') {
            out.push_back('\\');
            out.push_back(static_cast<char>(b));
        } else if (b < 0x21 || b > 0x7e) {
            out.push_back('\\');
            out.push_back(static_cast<char>('0' + b / 100));
            out.push_back(static_cast<char>('0' + (b / 10) % 10));
            out.push_back(static_cast<char>('0' + b % 10));
        } else {
            out.push_back(static_cast<char>(b));
        }
    }
}

// ---- reading ---------------------------------------------------------------------------

struct NameRead {
    std::string name;
    std::size_t end = 0;  // offset just past the name where it started (not where pointers led)
    DecodeError error = DecodeError::none;
};

// Every compression pointer must point strictly before the segment being read, so each
// jump goes backwards and a loop is impossible; the 255-octet limit bounds the rest.
NameRead read_name(std::span<const std::uint8_t> p, std::size_t pos) {
    NameRead r;
    std::size_t cursor = pos;
    std::size_t segment_start = pos;
    std::size_t wire = 1;
    bool jumped = false;
    for (;;) {
        if (cursor >= p.size()) return {{}, 0, DecodeError::truncated};
        std::uint8_t len = p[cursor];
        if ((len & 0xc0) == 0xc0) {
            if (cursor + 1 >= p.size()) return {{}, 0, DecodeError::truncated};
            std::size_t target = (static_cast<std::size_t>(len & 0x3f) << 8) | p[cursor + 1];
            if (!jumped) r.end = cursor + 2;
            jumped = true;
            if (target >= segment_start) return {{}, 0, DecodeError::bad_pointer};
            segment_start = target;
            cursor = target;
            continue;
        }
        if (len & 0xc0) return {{}, 0, DecodeError::bad_label};
        if (len == 0) {
            if (!jumped) r.end = cursor + 1;
            break;
        }
        wire += 1 + len;
        if (wire > max_name_octets) return {{}, 0, DecodeError::name_too_long};
        if (cursor + 1 + len > p.size()) return {{}, 0, DecodeError::truncated};
        if (!r.name.empty()) r.name.push_back('.');
        append_escaped_label(r.name, p.data() + cursor + 1, len);
        cursor += 1 + len;
    }
    if (r.name.empty()) r.name = ".";
    return r;
}

std::uint16_t get16(std::span<const std::uint8_t> p, std::size_t at) {
    return static_cast<std::uint16_t>((p[at] << 8) | p[at + 1]);
}
std::uint32_t get32(std::span<const std::uint8_t> p, std::size_t at) {
    return (std::uint32_t{get16(p, at)} << 16) | get16(p, at + 2);
}

// A name inside rdata must end exactly where the rdata ends.
DecodeError read_rdata_name(std::span<const std::uint8_t> p, std::size_t at, std::size_t rdata_end,
                            std::string& out) {
    if (at >= rdata_end) return DecodeError::bad_rdata;
    NameRead n = read_name(p.first(rdata_end), at);
    if (n.error != DecodeError::none || n.end != rdata_end) return DecodeError::bad_rdata;
    out = std::move(n.name);
    return DecodeError::none;
}

DecodeError read_rdata(std::span<const std::uint8_t> p, std::size_t at, std::size_t len, Record& rec) {
    std::size_t end = at + len;
    switch (rec.type) {
    case RecordType::a: {
        if (len != 4) return DecodeError::bad_rdata;
        Ipv4 v;
        std::copy_n(p.begin() + at, 4, v.begin());
        rec.data = v;
        return DecodeError::none;
    }
    case RecordType::aaaa: {
        if (len != 16) return DecodeError::bad_rdata;
        Ipv6 v;
        std::copy_n(p.begin() + at, 16, v.begin());
        rec.data = v;
        return DecodeError::none;
    }
    case RecordType::srv: {
        if (len < 7) return DecodeError::bad_rdata;
        SrvData srv{get16(p, at), get16(p, at + 2), get16(p, at + 4), {}};
        // RFC 2782 forbids compressing the target, but accepting it costs nothing.
        if (auto e = read_rdata_name(p, at + 6, end, srv.target); e != DecodeError::none) return e;
        rec.data = std::move(srv);
        return DecodeError::none;
    }
    case RecordType::cname: {
        CnameData c;
        if (auto e = read_rdata_name(p, at, end, c.target); e != DecodeError::none) return e;
        rec.data = std::move(c);
        return DecodeError::none;
    }
    default:
        rec.data = RawData(p.begin() + at, p.begin() + end);
        return DecodeError::none;
    }
}

DecodeError read_record(std::span<const std::uint8_t> p, std::size_t& pos, Record& rec) {
    NameRead n = read_name(p, pos);
    if (n.error != DecodeError::none) return n.error;
    std::size_t at = n.end;
    if (at + 10 > p.size()) return DecodeError::truncated;
    rec.name = std::move(n.name);
    rec.type = static_cast<RecordType>(get16(p, at));
    rec.rclass = get16(p, at + 2);
    rec.ttl = get32(p, at + 4);
    std::size_t rdlength = get16(p, at + 8);
    at += 10;
    if (at + rdlength > p.size()) return DecodeError::truncated;
    if (auto e = read_rdata(p, at, rdlength, rec); e != DecodeError::none) return e;
    pos = at + rdlength;
    return DecodeError::none;
}

// ---- writing ---------------------------------------------------------------------------

class Writer {
public:
    void put8(std::uint8_t v) { out_.push_back(v); }
    void put16(std::uint16_t v) { put8(static_cast<std::uint8_t>(v >> 8)); put8(static_cast<std::uint8_t>(v)); }
    void put32(std::uint32_t v) { put16(static_cast<std::uint16_t>(v >> 16)); put16(static_cast<std::uint16_t>(v)); }
    void patch16(std::size_t at, std::uint16_t v) {
        out_[at] = static_cast<std::uint8_t>(v >> 8);
        out_[at + 1] = static_cast<std::uint8_t>(v);
    }
    std::size_t size() const { return out_.size(); }

    // Writes `name`, reusing an earlier suffix when `compress` (pointers reach 14 bits).
    bool put_name(std::string_view name, bool compress) {
        auto labels = parse_labels(name);
        if (!labels) return false;
        for (std::size_t i = 0; i < labels->size(); ++i) {
            std::string key = suffix_key(*labels, i);
            if (compress) {
                auto hit = std::find_if(suffixes_.begin(), suffixes_.end(),
                                        [&](const auto& s) { return s.first == key; });
                if (hit != suffixes_.end()) {
                    put16(static_cast<std::uint16_t>(0xc000 | hit->second));
                    return true;
                }
            }
            if (out_.size() < 0x4000) suffixes_.emplace_back(std::move(key), static_cast<std::uint16_t>(out_.size()));
            const std::string& label = (*labels)[i];
            put8(static_cast<std::uint8_t>(label.size()));
            out_.insert(out_.end(), label.begin(), label.end());
        }
        put8(0);
        return true;
    }
    std::vector<std::uint8_t> take() { return std::move(out_); }

private:
    static std::string suffix_key(const Labels& labels, std::size_t from) {
        std::string key;
        for (std::size_t i = from; i < labels.size(); ++i) {
            key.push_back(static_cast<char>(labels[i].size()));
            for (char c : labels[i]) key.push_back(ascii_lower(c));
        }
        return key;
    }
    std::vector<std::uint8_t> out_;
    std::vector<std::pair<std::string, std::uint16_t>> suffixes_;
};

bool put_record(Writer& w, const Record& rec) {
    if (!w.put_name(rec.name, true)) return false;
    w.put16(static_cast<std::uint16_t>(rec.type));
    w.put16(rec.rclass);
    w.put32(rec.ttl);
    std::size_t length_at = w.size();
    w.put16(0);
    std::size_t start = w.size();
    bool ok = std::visit(
        [&](const auto& d) -> bool {
            using T = std::decay_t<decltype(d)>;
            if constexpr (std::is_same_v<T, SrvData>) {
                w.put16(d.priority);
                w.put16(d.weight);
                w.put16(d.port);
                return w.put_name(d.target, false);
            } else if constexpr (std::is_same_v<T, CnameData>) {
                return w.put_name(d.target, true);
            } else {
                for (std::uint8_t b : d) w.put8(b);
                return true;
            }
        },
        rec.data);
    std::size_t length = w.size() - start;
    if (!ok || length > 0xffff) return false;
    w.patch16(length_at, static_cast<std::uint16_t>(length));
    return true;
}

}  // namespace

std::string_view to_string(DecodeError e) {
    switch (e) {
    case DecodeError::none: return "none";
    case DecodeError::truncated: return "truncated";
    case DecodeError::bad_label: return "bad-label";
    case DecodeError::bad_pointer: return "bad-pointer";
    case DecodeError::name_too_long: return "name-too-long";
    case DecodeError::bad_rdata: return "bad-rdata";
    }
    return "unknown";
}

DecodeResult decode(std::span<const std::uint8_t> p) {
    if (p.size() < header_size) return {std::nullopt, DecodeError::truncated};
    Message m;
    m.id = get16(p, 0);
    std::uint8_t f1 = p[2], f2 = p[3];
    m.is_response = f1 & 0x80;
    m.opcode = (f1 >> 3) & 0x0f;
    m.authoritative = f1 & 0x04;
    m.truncated = f1 & 0x02;
    m.recursion_desired = f1 & 0x01;
    m.recursion_available = f2 & 0x80;
    m.rcode = static_cast<Rcode>(f2 & 0x0f);
    std::uint16_t counts[4] = {get16(p, 4), get16(p, 6), get16(p, 8), get16(p, 10)};

    std::size_t pos = header_size;
    auto fail = [&](DecodeError e) -> DecodeResult {
        if (e == DecodeError::truncated && m.truncated) return {std::move(m), e};
        return {std::nullopt, e};
    };
    for (std::uint16_t i = 0; i < counts[0]; ++i) {
        NameRead n = read_name(p, pos);
        if (n.error != DecodeError::none) return fail(n.error);
        if (n.end + 4 > p.size()) return fail(DecodeError::truncated);
        m.questions.push_back({std::move(n.name), static_cast<RecordType>(get16(p, n.end)), get16(p, n.end + 2)});
        pos = n.end + 4;
    }
    std::vector<Record>* sections[3] = {&m.answers, &m.authority, &m.additional};
    for (int s = 0; s < 3; ++s) {
        // Never trust a count for allocation: a record takes at least 11 octets.
        sections[s]->reserve(std::min<std::size_t>(counts[s + 1], (p.size() - pos) / 11));
        for (std::uint16_t i = 0; i < counts[s + 1]; ++i) {
            Record rec;
            if (auto e = read_record(p, pos, rec); e != DecodeError::none) return fail(e);
            sections[s]->push_back(std::move(rec));
        }
    }
    return {std::move(m), DecodeError::none};
}

std::optional<std::vector<std::uint8_t>> encode(const Message& m) {
    if (m.questions.size() > 0xffff || m.answers.size() > 0xffff || m.authority.size() > 0xffff ||
        m.additional.size() > 0xffff)
        return std::nullopt;
    Writer w;
    w.put16(m.id);
    w.put8(static_cast<std::uint8_t>((m.is_response ? 0x80 : 0) | ((m.opcode & 0x0f) << 3) |
                                     (m.authoritative ? 0x04 : 0) | (m.truncated ? 0x02 : 0) |
                                     (m.recursion_desired ? 0x01 : 0)));
    w.put8(static_cast<std::uint8_t>((m.recursion_available ? 0x80 : 0) | (static_cast<std::uint8_t>(m.rcode) & 0x0f)));
    w.put16(static_cast<std::uint16_t>(m.questions.size()));
    w.put16(static_cast<std::uint16_t>(m.answers.size()));
    w.put16(static_cast<std::uint16_t>(m.authority.size()));
    w.put16(static_cast<std::uint16_t>(m.additional.size()));
    for (const Question& q : m.questions) {
        if (!w.put_name(q.name, true)) return std::nullopt;
        w.put16(static_cast<std::uint16_t>(q.type));
        w.put16(q.qclass);
    }
    for (const auto* section : {&m.answers, &m.authority, &m.additional})
        for (const Record& rec : *section)
            if (!put_record(w, rec)) return std::nullopt;
    return w.take();
}

std::optional<std::vector<std::uint8_t>> make_query(std::uint16_t id, std::string_view name, RecordType type) {
    Message m;
    m.id = id;
    m.recursion_desired = true;
    m.questions.push_back({std::string(name), type, class_in});
    return encode(m);
}

bool is_valid_name(std::string_view name) { return parse_labels(name).has_value(); }

bool names_equal(std::string_view a, std::string_view b) {
    auto la = parse_labels(a), lb = parse_labels(b);
    if (!la || !lb || la->size() != lb->size()) return false;
    for (std::size_t i = 0; i < la->size(); ++i) {
        const std::string& x = (*la)[i];
        const std::string& y = (*lb)[i];
        if (x.size() != y.size()) return false;
        for (std::size_t k = 0; k < x.size(); ++k)
            if (ascii_lower(x[k]) != ascii_lower(y[k])) return false;
    }
    return true;
}

}  // namespace parley::protocol::dns
