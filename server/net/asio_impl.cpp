// Boost.Asio and its SSL layer compiled once for the whole program
// (BOOST_ASIO_SEPARATE_COMPILATION keeps every other file from instantiating them).
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
