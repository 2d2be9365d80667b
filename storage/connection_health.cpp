#include "storage/connection_health.hpp"

#include <poll.h>

namespace parley::storage {

bool idle_connection_alive(const pqxx::connection& c) {
    if (!c.is_open()) return false;
    const int fd = c.sock();
    if (fd < 0) return false;
    pollfd p{fd, POLLIN, 0};
    const int ready = ::poll(&p, 1, 0);
    return ready == 0;  // nothing pending: alive as far as anyone can tell without a round trip
}

}  // namespace parley::storage
