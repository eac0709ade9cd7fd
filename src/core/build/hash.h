// Cache keys: a 128-bit hash (two independent 64-bit FNV-1a streams, mixed),
// printed as 32 hex digits. Not cryptographic: the cache only needs distinct
// formulas to get distinct names, and checks the key stored in the object.
#pragma once
#include <string>

namespace rkeops {
std::string hash_hex(const std::string& text);
}
