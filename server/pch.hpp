#pragma once
// Precompiled for parley_server: the heavy headers every server file includes.
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <spdlog/spdlog.h>
#include <memory>
#include <string>
#include <string_view>
#include <vector>
#include <optional>
#include <functional>
