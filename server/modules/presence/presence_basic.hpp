#pragma once
// Kept for code that reads a presence's priority: the presence module is presence.hpp.
#include "server/modules/presence/presence.hpp"
