#pragma once
// XEP-0049: Private XML Storage (jabber:iq:private), kept in PostgreSQL.
// Implemented: get and set by the account itself (no 'to', or its own bare JID); each
// child of <query/> stored under its (name, namespace), so one set may store several;
// a get returns each asked-for element as stored, or empty as asked when nothing is.
// Errors: another account's data → forbidden (the XEP's preferred condition); a set
// without children → not-acceptable (§2.3 "MUST"); a get without children →
// bad-request (the XEP's "Bad Format"); a reserved namespace ('jabber:*',
// 'http://jabber.org/*', 'vcard-temp', or none) → not-acceptable (§2.3, optional
// there); an element larger than [limits] max_private_bytes → not-acceptable. A
// refused set stores nothing.
// Not implemented: deleting an item (the protocol has no way to ask; an empty element
// is stored as empty), a per-account total quota (only the per-item limit).
#include <string_view>

#include "server/modules/module.hpp"

namespace parley::server::modules {

class PrivateStorage final : public Module {
public:
    std::string_view name() const override { return "private"; }
    void start(ModuleContext& ctx) override;
};

// XEP-0049 §2.3: namespaces a client may not store under.
bool is_reserved_private_namespace(std::string_view xmlns);

}  // namespace parley::server::modules
