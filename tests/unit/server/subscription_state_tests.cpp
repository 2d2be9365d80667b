// Every row of RFC 6121 Appendix A: the outbound (A.2) and inbound (A.3) tables, for
// the nine states of A.1 and the four subscription stanzas. "forward" is the table's
// routing/delivery column: an outbound stanza is routed to the contact, an inbound one
// delivered to the user.
#include <doctest/doctest.h>

#include <map>
#include <string>
#include <vector>

#include "server/modules/presence/subscription_state.hpp"

using namespace parley::server::modules::presence;

namespace {

const std::map<std::string, SubState> states = {
    {"None", {Sub::none, false, false}},          {"None+PendingOut", {Sub::none, true, false}},
    {"None+PendingIn", {Sub::none, false, true}}, {"None+PendingOut+PendingIn", {Sub::none, true, true}},
    {"To", {Sub::to, false, false}},              {"To+PendingIn", {Sub::to, false, true}},
    {"From", {Sub::from, false, false}},          {"From+PendingOut", {Sub::from, true, false}},
    {"Both", {Sub::both, false, false}},
};

std::string name_of(const SubState& s) {
    for (const auto& [name, st] : states) {
        if (st.sub == s.sub && st.pending_out == s.pending_out && st.pending_in == s.pending_in) return name;
    }
    return "?";
}

struct Row {
    const char* from;
    const char* to;
    bool forward;
};

void check_table(Outcome (*fn)(const SubState&, SubType), SubType type, const std::vector<Row>& rows) {
    REQUIRE(rows.size() == states.size());
    for (const auto& row : rows) {
        CAPTURE(row.from);
        const Outcome o = fn(states.at(row.from), type);
        CHECK(name_of(o.next) == row.to);
        CHECK(o.forward == row.forward);
        CHECK(o.changed == (std::string(row.from) != row.to));
    }
}

}  // namespace

TEST_CASE("A.2.1 outbound subscribe") {
    check_table(outbound, SubType::subscribe,
                {{"None", "None+PendingOut", true},
                 {"None+PendingOut", "None+PendingOut", true},
                 {"None+PendingIn", "None+PendingOut+PendingIn", true},
                 {"None+PendingOut+PendingIn", "None+PendingOut+PendingIn", true},
                 {"To", "To", true},
                 {"To+PendingIn", "To+PendingIn", true},
                 {"From", "From+PendingOut", true},
                 {"From+PendingOut", "From+PendingOut", true},
                 {"Both", "Both", true}});
}

TEST_CASE("A.2.2 outbound subscribed (without pre-approvals: those rows are in their own case)") {
    // Rows without a pending request are pre-approvals (§3.4): the subscription state
    // does not change and nothing is routed; `approved` is checked below.
    for (const auto& [name, st] : states) {
        CAPTURE(name);
        const Outcome o = outbound(st, SubType::subscribed);
        if (!st.pending_in) {
            CHECK(o.next.sub == st.sub);
            CHECK(o.next.pending_out == st.pending_out);
            CHECK_FALSE(o.forward);
        }
    }
    const std::vector<Row> with_request = {{"None+PendingIn", "From", true},
                                           {"None+PendingOut+PendingIn", "From+PendingOut", true},
                                           {"To+PendingIn", "Both", true}};
    for (const auto& row : with_request) {
        CAPTURE(row.from);
        const Outcome o = outbound(states.at(row.from), SubType::subscribed);
        CHECK(name_of(o.next) == row.to);
        CHECK(o.forward);
        CHECK(o.send_presence);  // §3.1.5: the new subscriber gets the user's presence
    }
}

TEST_CASE("A.2.3 outbound unsubscribe") {
    check_table(outbound, SubType::unsubscribe,
                {{"None", "None", true},
                 {"None+PendingOut", "None", true},
                 {"None+PendingIn", "None+PendingIn", true},
                 {"None+PendingOut+PendingIn", "None+PendingIn", true},
                 {"To", "None", true},
                 {"To+PendingIn", "None+PendingIn", true},
                 {"From", "From", true},
                 {"From+PendingOut", "From", true},
                 {"Both", "From", true}});
}

TEST_CASE("A.2.4 outbound unsubscribed") {
    check_table(outbound, SubType::unsubscribed,
                {{"None", "None", false},
                 {"None+PendingOut", "None+PendingOut", false},
                 {"None+PendingIn", "None", true},
                 {"None+PendingOut+PendingIn", "None+PendingOut", true},
                 {"To", "To", false},
                 {"To+PendingIn", "To", true},
                 {"From", "None", true},
                 {"From+PendingOut", "None+PendingOut", true},
                 {"Both", "To", true}});
    // Cancelling 'from' makes the user unavailable to the contact (§3.2.2).
    CHECK(outbound(states.at("Both"), SubType::unsubscribed).send_unavailable);
    CHECK_FALSE(outbound(states.at("None+PendingIn"), SubType::unsubscribed).send_unavailable);
}

TEST_CASE("A.3.1 inbound subscribe") {
    check_table(inbound, SubType::subscribe,
                {{"None", "None+PendingIn", true},
                 {"None+PendingOut", "None+PendingOut+PendingIn", true},
                 {"None+PendingIn", "None+PendingIn", false},
                 {"None+PendingOut+PendingIn", "None+PendingOut+PendingIn", false},
                 {"To", "To+PendingIn", true},
                 {"To+PendingIn", "To+PendingIn", false},
                 {"From", "From", false},
                 {"From+PendingOut", "From+PendingOut", false},
                 {"Both", "Both", false}});
    // Already subscribed: the server answers for the user (§3.1.3).
    for (const char* name : {"From", "From+PendingOut", "Both"}) {
        CAPTURE(name);
        CHECK(inbound(states.at(name), SubType::subscribe).auto_subscribed);
    }
    CHECK_FALSE(inbound(states.at("None"), SubType::subscribe).auto_subscribed);
}

TEST_CASE("A.3.2 inbound subscribed") {
    check_table(inbound, SubType::subscribed,
                {{"None", "None", false},
                 {"None+PendingOut", "To", true},
                 {"None+PendingIn", "None+PendingIn", false},
                 {"None+PendingOut+PendingIn", "To+PendingIn", true},
                 {"To", "To", false},
                 {"To+PendingIn", "To+PendingIn", false},
                 {"From", "From", false},
                 {"From+PendingOut", "Both", true},
                 {"Both", "Both", false}});
}

TEST_CASE("A.3.3 inbound unsubscribe") {
    check_table(inbound, SubType::unsubscribe,
                {{"None", "None", false},
                 {"None+PendingOut", "None+PendingOut", false},
                 {"None+PendingIn", "None", true},
                 {"None+PendingOut+PendingIn", "None+PendingOut", true},
                 {"To", "To", false},
                 {"To+PendingIn", "To", true},
                 {"From", "None", true},
                 {"From+PendingOut", "None+PendingOut", true},
                 {"Both", "To", true}});
}

TEST_CASE("A.3.4 inbound unsubscribed") {
    check_table(inbound, SubType::unsubscribed,
                {{"None", "None", false},
                 {"None+PendingOut", "None", true},
                 {"None+PendingIn", "None+PendingIn", false},
                 {"None+PendingOut+PendingIn", "None+PendingIn", true},
                 {"To", "None", true},
                 {"To+PendingIn", "None+PendingIn", true},
                 {"From", "From", false},
                 {"From+PendingOut", "From", true},
                 {"Both", "From", true}});
}

TEST_CASE("pre-approval (RFC 6121 §3.4)") {
    // Approving before being asked is remembered, not routed…
    Outcome o = outbound(states.at("None"), SubType::subscribed);
    CHECK(o.next.approved);
    CHECK(o.changed);
    CHECK_FALSE(o.forward);
    // …and a later request is granted at once, answered for the user, never delivered.
    Outcome in = inbound(o.next, SubType::subscribe);
    CHECK(name_of(in.next) == "From");
    CHECK_FALSE(in.next.approved);
    CHECK(in.auto_subscribed);
    CHECK(in.send_presence);
    CHECK_FALSE(in.forward);
    // To + pre-approval → Both.
    SubState to = states.at("To");
    to.approved = true;
    CHECK(name_of(inbound(to, SubType::subscribe).next) == "Both");
    // unsubscribed cancels a pre-approval without routing anything.
    Outcome cancel = outbound(o.next, SubType::unsubscribed);
    CHECK_FALSE(cancel.next.approved);
    CHECK(cancel.changed);
    CHECK_FALSE(cancel.forward);
    // Already subscribed: nothing to pre-approve.
    CHECK_FALSE(outbound(states.at("Both"), SubType::subscribed).next.approved);
}
