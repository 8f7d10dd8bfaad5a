#include "common/secret_string.h"

#include <sodium.h>

namespace latchkey {

void WipeString(std::string& s) {
  // Wipe the whole buffer, not just size(): a shorter assignment leaves old bytes.
  s.resize(s.capacity());
  sodium_memzero(s.data(), s.size());
  s.clear();
}

bool SecretString::Equals(const SecretString& other) const {
  if (value_.size() != other.value_.size()) return false;
  if (value_.empty()) return true;
  return sodium_memcmp(value_.data(), other.value_.data(), value_.size()) == 0;
}

SecretString SecretString::Join(std::initializer_list<std::string_view> parts) {
  size_t size = 0;
  for (auto part : parts) size += part.size();
  std::string joined;
  joined.reserve(size);  // one allocation: no reallocation leaves a partial copy behind
  for (auto part : parts) joined += part;
  return SecretString(std::move(joined));
}

}  // namespace latchkey
