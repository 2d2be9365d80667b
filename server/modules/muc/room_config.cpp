// XEP-0045 §10.2 room configuration (the muc#roomconfig form, XEP-0004) and the
// muc#roominfo form of §6.4 (XEP-0128). Pure: no I/O.
#include <charconv>
#include <set>

#include "protocol/namespaces.hpp"
#include "server/modules/muc/room.hpp"

namespace parley::server::modules::muc {

using protocol::xml::Element;

namespace {

constexpr std::string_view roomconfig_type = "http://jabber.org/protocol/muc#roomconfig";
constexpr std::string_view roominfo_type = "http://jabber.org/protocol/muc#roominfo";

Element& field(Element& form, std::string var, std::string type, std::string label) {
    Element& f = form.add_child("field");
    f.set_attr("var", std::move(var));
    if (!type.empty()) f.set_attr("type", std::move(type));
    if (!label.empty()) f.set_attr("label", std::move(label));
    return f;
}

void value(Element& f, std::string v) { f.add_child("value").add_text(std::move(v)); }

void option(Element& f, std::string label, std::string v) {
    Element& o = f.add_child("option");
    o.set_attr("label", std::move(label));
    o.add_child("value").add_text(std::move(v));
}

void boolean(Element& form, std::string var, std::string label, bool v) {
    value(field(form, std::move(var), "boolean", std::move(label)), v ? "1" : "0");
}

std::optional<bool> parse_bool(const std::string& v) {
    if (v == "1" || v == "true") return true;
    if (v == "0" || v == "false") return false;
    return std::nullopt;
}

std::vector<std::string> values(const Element& f) {
    std::vector<std::string> out;
    for (const auto& c : f.children()) {
        if (c.name() == "value") out.push_back(c.text());
    }
    return out;
}

}  // namespace

Element config_form(const RoomConfig& c, std::size_t max_users_limit) {
    Element form("x", std::string(protocol::ns::data_forms));
    form.set_attr("type", "form");
    form.add_child("title").add_text("Room configuration");
    Element& type = field(form, "FORM_TYPE", "hidden", "");
    value(type, std::string(roomconfig_type));
    value(field(form, "muc#roomconfig_roomname", "text-single", "Name"), c.name);
    value(field(form, "muc#roomconfig_roomdesc", "text-single", "Description"), c.description);
    value(field(form, "muc#roomconfig_lang", "text-single", "Language"), c.language);
    boolean(form, "muc#roomconfig_persistentroom", "Persistent (kept when empty)", c.persistent);
    boolean(form, "muc#roomconfig_publicroom", "Listed in the room directory", c.is_public);
    boolean(form, "muc#roomconfig_membersonly", "Members only", c.members_only);
    boolean(form, "muc#roomconfig_moderatedroom", "Moderated (only participants with voice speak)", c.moderated);
    boolean(form, "muc#roomconfig_passwordprotectedroom", "Password required to enter", c.password_protected);
    value(field(form, "muc#roomconfig_roomsecret", "text-private", "Password"), c.password);
    Element& max = field(form, "muc#roomconfig_maxusers", "list-single", "Maximum occupants");
    value(max, std::to_string(c.max_users));
    std::set<std::size_t> choices{5, 10, 20, 30, 50, 100, 200, 500, 1000, 2000, 5000};
    choices.insert(c.max_users);  // the current value is always one of the options
    for (std::size_t n : choices) {
        if (n <= max_users_limit || n == c.max_users) option(max, std::to_string(n), std::to_string(n));
    }
    Element& whois = field(form, "muc#roomconfig_whois", "list-single", "Who may see real JIDs");
    value(whois, c.whois_anyone ? "anyone" : "moderators");
    option(whois, "Moderators only", "moderators");
    option(whois, "Anyone", "anyone");
    boolean(form, "muc#roomconfig_changesubject", "Participants may change the subject", c.change_subject);
    boolean(form, "muc#roomconfig_allowinvites", "Members may invite", c.allow_invites);
    Element& pm = field(form, "muc#roomconfig_allowpm", "list-single", "Who may send private messages");
    value(pm, c.allow_pm);
    for (const char* v : {"anyone", "participants", "moderators", "none"}) option(pm, v, v);
    boolean(form, "muc#roomconfig_enablearchiving", "Archive messages (XEP-0313)", c.archiving);
    return form;
}

std::optional<ConfigChange> apply_config_form(const RoomConfig& current, const Element& form,
                                              std::size_t max_users_limit) {
    if (form.name() != "x" || form.xmlns() != protocol::ns::data_forms || form.attr("type") != "submit") {
        return std::nullopt;
    }
    ConfigChange out{current, std::nullopt, std::nullopt};
    RoomConfig& c = out.config;
    std::set<std::string> seen;
    for (const auto& f : form.children()) {
        if (f.is_text() || f.name() != "field") continue;
        const std::string var(f.attr("var"));
        if (!seen.insert(var).second) return std::nullopt;  // a field twice
        const auto vals = values(f);
        const std::string v = vals.empty() ? std::string() : vals.front();
        auto set_bool = [&](bool& target) {
            auto b = parse_bool(v);
            if (!b || vals.size() != 1) return false;
            target = *b;
            return true;
        };
        bool ok = true;
        if (var == "FORM_TYPE") {
            ok = v == roomconfig_type;
        } else if (var == "muc#roomconfig_roomname") {
            c.name = v;
        } else if (var == "muc#roomconfig_roomdesc") {
            c.description = v;
        } else if (var == "muc#roomconfig_lang") {
            c.language = v;
        } else if (var == "muc#roomconfig_persistentroom") {
            ok = set_bool(c.persistent);
        } else if (var == "muc#roomconfig_publicroom") {
            ok = set_bool(c.is_public);
        } else if (var == "muc#roomconfig_membersonly") {
            ok = set_bool(c.members_only);
        } else if (var == "muc#roomconfig_moderatedroom") {
            ok = set_bool(c.moderated);
        } else if (var == "muc#roomconfig_passwordprotectedroom") {
            ok = set_bool(c.password_protected);
        } else if (var == "muc#roomconfig_roomsecret") {
            c.password = v;
        } else if (var == "muc#roomconfig_maxusers") {
            if (v == "none") {
                c.max_users = max_users_limit;
            } else {
                std::size_t n = 0;
                auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
                ok = ec == std::errc() && p == v.data() + v.size() && n >= 1 && n <= max_users_limit;
                if (ok) c.max_users = n;
            }
        } else if (var == "muc#roomconfig_whois") {
            ok = v == "anyone" || v == "moderators";
            c.whois_anyone = v == "anyone";
        } else if (var == "muc#roomconfig_changesubject") {
            ok = set_bool(c.change_subject);
        } else if (var == "muc#roomconfig_allowinvites") {
            ok = set_bool(c.allow_invites);
        } else if (var == "muc#roomconfig_allowpm") {
            ok = v == "anyone" || v == "participants" || v == "moderators" || v == "none";
            if (ok) c.allow_pm = v;
        } else if (var == "muc#roomconfig_enablearchiving" || var == "muc#roomconfig_enablelogging") {
            ok = set_bool(c.archiving);
        } else if (var == "muc#roomconfig_roomowners") {
            out.owners = vals;
        } else if (var == "muc#roomconfig_roomadmins") {
            out.admins = vals;
        } else if (var == "muc#roomconfig_presencebroadcast" || var == "muc#roomconfig_getmemberlist" ||
                   var == "muc#maxhistoryfetch" || var == "muc#roomconfig_pubsub") {
            // Registered fields we do not offer: accepted and not acted on.
        } else {
            ok = false;
        }
        if (!ok) return std::nullopt;
    }
    if (c.password_protected && c.password.empty()) return std::nullopt;
    return out;
}

Element roominfo_form(const Room& room) {
    Element form("x", std::string(protocol::ns::data_forms));
    form.set_attr("type", "result");
    value(field(form, "FORM_TYPE", "hidden", ""), std::string(roominfo_type));
    const RoomConfig& c = room.config();
    value(field(form, "muc#roominfo_description", "text-single", "Description"), c.description);
    value(field(form, "muc#roomconfig_roomname", "text-single", "Name"), c.name);
    value(field(form, "muc#roominfo_subject", "text-single", "Subject"), room.subject());
    value(field(form, "muc#roominfo_subjectmod", "boolean", "Participants may change the subject"),
          c.change_subject ? "1" : "0");
    value(field(form, "muc#roominfo_occupants", "text-single", "Occupants"), std::to_string(room.occupants().size()));
    value(field(form, "muc#maxhistoryfetch", "text-single", "Messages of history"),
          std::to_string(room.history().size()));
    if (!c.language.empty()) value(field(form, "muc#roominfo_lang", "text-single", "Language"), c.language);
    value(field(form, "muc#roomconfig_allowinvites", "boolean", "Members may invite"), c.allow_invites ? "1" : "0");
    return form;
}

}  // namespace parley::server::modules::muc
