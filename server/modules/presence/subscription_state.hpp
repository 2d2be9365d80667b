#pragma once
// The presence-subscription state machine of RFC 6121 §3 and Appendix A, as pure
// functions: one account's relation to one contact, and what a subscription stanza
// does to it — sent by the account (outbound, A.2) or received from the contact
// (inbound, A.3). No I/O: every row of both tables is unit-tested on its own.
#include <optional>
#include <string_view>

namespace parley::server::modules::presence {

enum class Sub { none, to, from, both };
enum class SubType { subscribe, subscribed, unsubscribe, unsubscribed };

struct SubState {
    Sub sub = Sub::none;
    bool pending_out = false;  // ask='subscribe': we asked, the contact has not answered
    bool pending_in = false;   // the contact asked, we have not answered
    bool approved = false;     // pre-approval (RFC 6121 §3.4)

    friend bool operator==(const SubState&, const SubState&) = default;
};

struct Outcome {
    SubState next;
    bool changed = false;         // the stored state changes (roster push if the item does)
    bool forward = false;         // outbound: route the stanza to the contact; inbound: deliver it to the account
    bool auto_subscribed = false; // inbound: answer the contact with <presence type='subscribed'/>
    bool send_presence = false;   // the account's current presence goes to the contact (it may now see it)
    bool send_unavailable = false;// the contact may no longer see it: unavailable from every available resource
};

Outcome outbound(const SubState& state, SubType type);
Outcome inbound(const SubState& state, SubType type);

std::optional<SubType> parse_sub_type(std::string_view type);
std::string_view to_string(Sub sub);
std::optional<Sub> parse_sub(std::string_view sub);
// Whether the contact may see the account's presence ('from' or 'both'), and the other way.
inline bool contact_sees_us(Sub s) { return s == Sub::from || s == Sub::both; }
inline bool we_see_contact(Sub s) { return s == Sub::to || s == Sub::both; }

}  // namespace parley::server::modules::presence
