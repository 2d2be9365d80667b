#include "server/modules/csi/csi.hpp"

#include "protocol/namespaces.hpp"

namespace parley::server::modules {

void ClientStateIndication::start(ModuleContext& ctx) {
    ctx.add_stream_feature(protocol::xml::Element("csi", std::string(protocol::ns::csi)));
}

}  // namespace parley::server::modules
