#pragma once
// Whether an idle PostgreSQL connection can still be used. libpq learns that the
// server went away (restart, failover, a cut network path) only when it next talks,
// so the first job after an outage would fail on a connection that was already dead.
// An idle connection has nothing to read (we never LISTEN); when its socket is
// readable or hung up, the server closed it or sent a termination notice.
#include <pqxx/pqxx>

namespace parley::storage {

bool idle_connection_alive(const pqxx::connection& c);

}  // namespace parley::storage
