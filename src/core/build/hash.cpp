#include "build/hash.h"

#include <cstdint>
#include <cstdio>

namespace rkeops {

namespace {
std::uint64_t fnv1a(const std::string& s, std::uint64_t h) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}
// Final avalanche (splitmix64) so that nearby inputs differ in every digit.
std::uint64_t mix(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
}  // namespace

std::string hash_hex(const std::string& text) {
  std::uint64_t a = mix(fnv1a(text, 0xcbf29ce484222325ULL));
  std::uint64_t b = mix(fnv1a(text, 0x84222325cbf29ce4ULL) ^ text.size());
  char buf[33];
  std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(a),
                static_cast<unsigned long long>(b));
  return buf;
}

}  // namespace rkeops
