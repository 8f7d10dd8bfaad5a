// SecretString: holds a credential (token, key, password) in memory.
// It cannot be streamed or formatted, so a secret cannot reach a log by accident:
// `spdlog::info("{}", secret)` and `std::cout << secret` do not compile. Its bytes are
// wiped when it is destroyed or overwritten. Reading the value is explicit: reveal().
// Not synchronized: one owner at a time, like std::string.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace latchkey {

// Overwrites the bytes of `s` (capacity included) with zeros in a way the compiler
// cannot elide.
void WipeString(std::string& s);

class SecretString {
 public:
  SecretString() = default;
  explicit SecretString(std::string value) : value_(std::move(value)) {}
  explicit SecretString(std::string_view value) : value_(value) {}
  explicit SecretString(const char* value) : value_(value) {}

  SecretString(const SecretString& other) : value_(other.value_) {}
  SecretString(SecretString&& other) noexcept : value_(std::move(other.value_)) { WipeString(other.value_); }
  SecretString& operator=(const SecretString& other) {
    if (this != &other) {
      WipeString(value_);
      value_ = other.value_;
    }
    return *this;
  }
  SecretString& operator=(SecretString&& other) noexcept {
    if (this != &other) {
      WipeString(value_);
      value_ = std::move(other.value_);
      WipeString(other.value_);
    }
    return *this;
  }
  ~SecretString() { WipeString(value_); }

  // The plaintext. Callers must not copy it into long-lived plain strings or logs.
  std::string_view reveal() const { return value_; }
  bool empty() const { return value_.empty(); }
  std::size_t size() const { return value_.size(); }

  // Constant-time comparison (length is not hidden).
  bool Equals(const SecretString& other) const;

  // The parts joined into one secret, without an unwiped copy left behind.
  static SecretString Join(std::initializer_list<std::string_view> parts);

  // Streaming or formatting a secret is a compile error.
  template <typename Stream>
  friend Stream& operator<<(Stream&, const SecretString&) = delete;

 private:
  std::string value_;
};

}  // namespace latchkey
