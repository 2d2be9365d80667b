#include "server/modules/presence/subscription_state.hpp"

namespace parley::server::modules::presence {

namespace {

Sub add_from(Sub s) { return s == Sub::to || s == Sub::both ? Sub::both : Sub::from; }
Sub add_to(Sub s) { return s == Sub::from || s == Sub::both ? Sub::both : Sub::to; }
Sub drop_from(Sub s) { return s == Sub::both || s == Sub::to ? Sub::to : Sub::none; }
Sub drop_to(Sub s) { return s == Sub::both || s == Sub::from ? Sub::from : Sub::none; }

Outcome finish(const SubState& before, SubState next) {
    Outcome o;
    o.changed = next != before;
    o.next = next;
    return o;
}

}  // namespace

// RFC 6121 Appendix A.2 (and §3.1.2, §3.2.2, §3.3.2, §3.4).
Outcome outbound(const SubState& s, SubType type) {
    SubState n = s;
    switch (type) {
        case SubType::subscribe: {
            // A.2.1: asking again changes nothing, but the request still goes out (the
            // contact's server answers it, which resynchronises a lost state).
            if (!we_see_contact(s.sub)) n.pending_out = true;
            Outcome o = finish(s, n);
            o.forward = true;
            return o;
        }
        case SubType::subscribed: {
            // A.2.2: approving a pending request grants 'from'; without one it is a
            // pre-approval (§3.4.1), kept and not routed.
            if (s.pending_in) {
                n.pending_in = false;
                n.sub = add_from(s.sub);
                n.approved = false;
                Outcome o = finish(s, n);
                o.forward = true;
                o.send_presence = true;
                return o;
            }
            if (!contact_sees_us(s.sub)) n.approved = true;
            return finish(s, n);
        }
        case SubType::unsubscribe: {
            // A.2.3: always routed, so the contact's side learns it too.
            n.pending_out = false;
            n.sub = drop_to(s.sub);
            Outcome o = finish(s, n);
            o.forward = true;
            return o;
        }
        case SubType::unsubscribed: {
            // A.2.4: denies a pending request, cancels 'from', or cancels a pre-approval.
            n.pending_in = false;
            n.approved = false;
            n.sub = drop_from(s.sub);
            Outcome o = finish(s, n);
            o.forward = s.pending_in || contact_sees_us(s.sub);
            o.send_unavailable = contact_sees_us(s.sub);
            return o;
        }
    }
    return finish(s, n);
}

// RFC 6121 Appendix A.3 (and §3.1.3, §3.1.6, §3.2.3, §3.3.3).
Outcome inbound(const SubState& s, SubType type) {
    SubState n = s;
    switch (type) {
        case SubType::subscribe: {
            if (contact_sees_us(s.sub)) {
                // Already subscribed: answered on the account's behalf (§3.1.3).
                Outcome o = finish(s, n);
                o.auto_subscribed = true;
                return o;
            }
            if (s.approved) {
                // Pre-approved (§3.4.2): granted at once, the request never bothers the user.
                n.sub = add_from(s.sub);
                n.approved = false;
                n.pending_in = false;
                Outcome o = finish(s, n);
                o.auto_subscribed = true;
                o.send_presence = true;
                return o;
            }
            if (s.pending_in) return finish(s, n);  // already waiting for an answer
            n.pending_in = true;
            Outcome o = finish(s, n);
            o.forward = true;
            return o;
        }
        case SubType::subscribed: {
            if (!s.pending_out) return finish(s, n);  // nothing asked: ignored
            n.pending_out = false;
            n.sub = add_to(s.sub);
            Outcome o = finish(s, n);
            o.forward = true;
            return o;
        }
        case SubType::unsubscribe: {
            if (!s.pending_in && !contact_sees_us(s.sub)) return finish(s, n);
            n.pending_in = false;
            n.sub = drop_from(s.sub);
            Outcome o = finish(s, n);
            o.forward = true;
            return o;
        }
        case SubType::unsubscribed: {
            if (!s.pending_out && !we_see_contact(s.sub)) return finish(s, n);
            n.pending_out = false;
            n.sub = drop_to(s.sub);
            Outcome o = finish(s, n);
            o.forward = true;
            return o;
        }
    }
    return finish(s, n);
}

std::optional<SubType> parse_sub_type(std::string_view type) {
    if (type == "subscribe") return SubType::subscribe;
    if (type == "subscribed") return SubType::subscribed;
    if (type == "unsubscribe") return SubType::unsubscribe;
    if (type == "unsubscribed") return SubType::unsubscribed;
    return std::nullopt;
}

std::string_view to_string(Sub sub) {
    switch (sub) {
        case Sub::none: return "none";
        case Sub::to: return "to";
        case Sub::from: return "from";
        case Sub::both: return "both";
    }
    return "none";
}

std::optional<Sub> parse_sub(std::string_view sub) {
    if (sub == "none") return Sub::none;
    if (sub == "to") return Sub::to;
    if (sub == "from") return Sub::from;
    if (sub == "both") return Sub::both;
    return std::nullopt;
}

}  // namespace parley::server::modules::presence
