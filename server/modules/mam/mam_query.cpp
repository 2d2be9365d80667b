// XEP-0313 §4 queries: the form (§4.1.1), the filters, RSM paging (XEP-0059) and the
// results, each a <message> carrying <result><forwarded/></result>, then <fin/>.
#include <boost/asio/use_awaitable.hpp>

#include <charconv>
#include <variant>

#include <spdlog/spdlog.h>

#include "server/modules/mam/mam.hpp"
#include "server/modules/mam/mam_policy.hpp"
#include "server/modules/pep/node_config.hpp"
#include "server/modules/private/stored_xml.hpp"
#include "server/routing/router.hpp"
#include "storage/archive_queue.hpp"
#include "storage/archive_store.hpp"
#include "storage/database.hpp"

namespace parley::server::modules::mam {

using boost::asio::awaitable;
using protocol::Jid;
using protocol::StanzaErrorCondition;
using protocol::xml::Element;
using routing::IqResult;
using routing::Stanza;
namespace store = storage::archive_store;

namespace {

Element field(std::string_view var, std::string_view type) {
    Element f("field", std::string(protocol::ns::data_forms));
    f.set_attr("var", std::string(var));
    f.set_attr("type", std::string(type));
    return f;
}

Element query_form() {
    Element query("query", std::string(ns_mam));
    Element& x = query.add_child("x", std::string(protocol::ns::data_forms));
    x.set_attr("type", "form");
    Element form_type = field("FORM_TYPE", "hidden");
    form_type.add_child("value").add_text(std::string(ns_mam));
    x.add_child(std::move(form_type));
    x.add_child(field("with", "jid-single"));
    x.add_child(field("start", "text-single"));
    x.add_child(field("end", "text-single"));
    x.add_child(field("before-id", "text-single"));
    x.add_child(field("after-id", "text-single"));
    return query;
}

struct Parsed {
    store::Query query;
    std::string queryid;
    bool has_rsm_after = false;  // paging forward from an RSM id
};

// One value of a single-valued field; an empty list or several values are bad requests.
std::optional<std::string> single(const std::vector<std::string>& values) {
    if (values.size() != 1) return std::nullopt;
    return values.front();
}

// The form and the RSM set of a query → the store's query; a StanzaError for bad input.
std::variant<Parsed, protocol::StanzaError> parse_query(const Element& q, std::size_t max_page) {
    auto bad = [](std::string text) { return protocol::stanza_error(StanzaErrorCondition::bad_request, std::move(text)); };
    Parsed out;
    out.queryid = std::string(q.attr("queryid"));
    out.query.limit = std::min<std::size_t>(max_page, 50);
    std::optional<std::int64_t> after_id, before_id;
    if (const Element* x = q.find_child("x", protocol::ns::data_forms)) {
        auto form = pep::read_form(*x);
        if (!form || (form->type != "submit" && !form->type.empty())) return bad("the query form must be submitted");
        if (!form->form_type.empty() && form->form_type != ns_mam) return bad("unknown FORM_TYPE");
        for (const auto& [var, values] : form->fields) {
            if (values.empty()) continue;  // an empty field filters nothing
            auto value = single(values);
            if (!value) return bad("field " + var + " takes one value");
            if (var == "with") {
                auto jid = Jid::parse(*value);
                if (!jid) return bad("with is not a JID");
                out.query.with_bare = jid->bare_string();
                if (jid->has_resource()) out.query.with_resource = jid->resource();
            } else if (var == "start" || var == "end") {
                auto t = parse_datetime(*value);
                if (!t) return bad(var + " is not an XEP-0082 DateTime");
                (var == "start" ? out.query.start_us : out.query.end_us) = *t;
            } else if (var == "after-id" || var == "before-id") {
                auto id = parse_id(*value);
                if (!id) return protocol::stanza_error(StanzaErrorCondition::item_not_found, var + " names no message");
                (var == "after-id" ? after_id : before_id) = *id;
            } else {
                return bad("unknown field " + var);
            }
        }
    }
    if (const Element* set = q.find_child("set", ns_rsm)) {
        if (const Element* max = set->find_child("max", ns_rsm)) {
            const std::string text = max->text();
            std::size_t n = 0;
            auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
            if (ec != std::errc{} || p != text.data() + text.size()) return bad("max is not a number");
            out.query.limit = std::min(n, max_page);
        }
        if (const Element* after = set->find_child("after", ns_rsm)) {
            auto id = parse_id(after->text());
            if (!id) return protocol::stanza_error(StanzaErrorCondition::item_not_found, "after names no message");
            after_id = after_id ? std::max(*after_id, *id) : *id;
            out.has_rsm_after = true;
        }
        if (const Element* before = set->find_child("before", ns_rsm)) {
            const std::string text = before->text();
            out.query.from_end = true;
            if (!text.empty()) {
                auto id = parse_id(text);
                if (!id) return protocol::stanza_error(StanzaErrorCondition::item_not_found, "before names no message");
                before_id = before_id ? std::min(*before_id, *id) : *id;
            }
        }
        if (set->find_child("index", ns_rsm))
            return protocol::stanza_error(StanzaErrorCondition::feature_not_implemented, "RSM index is not supported");
    }
    out.query.after_id = after_id;
    out.query.before_id = before_id;
    // XEP-0313 §4.3.x: before-id alone pages from the end, like RSM <before>.
    if (before_id && !after_id) out.query.from_end = true;
    return out;
}

Element result_message(const store::Row& row, const std::string& archive, const Jid& requester,
                       const std::string& queryid) {
    Element msg("message", "jabber:client");
    msg.set_attr("from", archive);
    msg.set_attr("to", requester.to_string());
    msg.set_attr("id", id_text(row.id) + "-r");
    Element& result = msg.add_child("result", std::string(ns_mam));
    if (!queryid.empty()) result.set_attr("queryid", queryid);
    result.set_attr("id", id_text(row.id));
    Element& fwd = result.add_child("forwarded", std::string(protocol::ns::forward));
    Element& delay = fwd.add_child("delay", std::string(protocol::ns::delay));
    delay.set_attr("stamp", format_datetime(row.ts_us));
    if (auto original = parse_stored_xml(row.xml)) {
        fwd.add_child(std::move(*original));
    } else {
        spdlog::error("archive_row_unreadable archive={} id={}", archive, row.id);
    }
    return msg;
}

}  // namespace

awaitable<IqResult> answer_query(ModuleContext& ctx, std::string archive, const Stanza& iq) {
    if (iq.el.attr("type") == "get") co_return std::optional<Element>(query_form());
    const Element* q = iq.el.find_child("query", ns_mam);
    if (!q) co_return protocol::stanza_error(StanzaErrorCondition::bad_request);
    auto parsed_or_error = parse_query(*q, ctx.config().archive.max_page);
    if (auto* err = std::get_if<protocol::StanzaError>(&parsed_or_error)) co_return *err;
    Parsed parsed = std::get<Parsed>(std::move(parsed_or_error));
    parsed.query.archive = archive;

    // Every message delivered before this query arrived is in the queue's past: wait
    // until it is written, so the answer includes it.
    storage::ArchiveQueue& queue = ctx.archive();
    const std::uint64_t ticket = queue.ticket();
    struct Answer {
        bool after_found = true, before_found = true;
        store::Page page;
    };
    auto job = [&queue, ticket, q = parsed.query](pqxx::connection& c) {
        queue.wait_written(ticket, std::chrono::seconds(5));
        Answer a;
        if (q.after_id) a.after_found = store::exists(c, q.archive, *q.after_id);
        if (q.before_id) a.before_found = store::exists(c, q.archive, *q.before_id);
        if (a.after_found && a.before_found) a.page = store::query(c, q);
        return a;
    };
    // The archive's owner's key: behind any archiving check still running for it.
    const auto owner = Jid::parse(archive);
    const std::string key = owner ? routing::account_key(*owner) : archive;
    auto answer = co_await ctx.db().run<Answer>(key, std::move(job), boost::asio::use_awaitable);
    if (!answer) {
        spdlog::error("mam_query_failed archive={} error={}", archive, answer.error().message());
        co_return protocol::stanza_error(StanzaErrorCondition::internal_server_error);
    }
    if (!answer->after_found || !answer->before_found)
        co_return protocol::stanza_error(StanzaErrorCondition::item_not_found, "no message with that id");

    const auto& rows = answer->page.rows;
    routing::Router& router = ctx.router();
    for (const auto& row : rows) {
        Element msg = result_message(row, archive, iq.from, parsed.queryid);
        if (!router.deliver_to_resource(iq.from, std::move(msg))) co_return std::optional<Element>{};  // gone
    }
    Element fin("fin", std::string(ns_mam));
    if (answer->page.complete) fin.set_attr("complete", "true");
    Element& set = fin.add_child("set", std::string(ns_rsm));
    if (!rows.empty()) {
        set.add_child("first").add_text(id_text(rows.front().id));
        set.add_child("last").add_text(id_text(rows.back().id));
    }
    set.add_child("count").add_text(std::to_string(answer->page.count));
    co_return std::optional<Element>(std::move(fin));
}

}  // namespace parley::server::modules::mam
