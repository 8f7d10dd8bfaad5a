// Status and StatusOr<T>: errors as values on every request path (no exceptions).
// A Status is a code plus one human sentence. The CLI turns the code into an exit code
// of SPEC §8 (cli/context.h ExitCodeFor); the gateway answers agents with the problem
// types of §4, chosen where the failure's meaning is known (gateway/http/problem.h), not from
// the code alone. Value types: any thread may copy them.
//
//   StatusOr<Connection> c = vault.GetConnection("work-gmail");
//   if (!c.ok()) return c.status();
//   LATCHKEY_ASSIGN_OR_RETURN(auto token, vault.AccessToken(*c));
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace latchkey {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,     // the caller's input is wrong (usage error)
  kNotFound,            // a named thing does not exist
  kAlreadyExists,       // a named thing exists already
  kPermissionDenied,    // policy forbids it
  kUnauthenticated,     // missing, unknown or revoked credential
  kFailedPrecondition,  // the system is not in a state that allows it
  kNeedsHuman,          // a person must act (re-consent, fix configuration)
  kAborted,             // lost a race (version changed); retrying may succeed
  kUnavailable,         // transient: retry later (store busy, network)
  kDeadlineExceeded,    // a deadline passed
  kResourceExhausted,   // a size or count limit was hit
  kDataLoss,            // stored data cannot be read back (tampered, wrong key)
  kInternal,            // a bug or an unexpected library failure
};

std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return {}; }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // Returns a copy whose message is "context: message", for adding what was being done.
  Status WithContext(std::string_view context) const;

  // "NOT_FOUND: connection 'x' does not exist" (for logs and tests).
  std::string ToString() const;

  friend bool operator==(const Status&, const Status&) = default;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

Status InvalidArgumentError(std::string message);
Status NotFoundError(std::string message);
Status AlreadyExistsError(std::string message);
Status PermissionDeniedError(std::string message);
Status UnauthenticatedError(std::string message);
Status FailedPreconditionError(std::string message);
Status NeedsHumanError(std::string message);
Status AbortedError(std::string message);
Status UnavailableError(std::string message);
Status DeadlineExceededError(std::string message);
Status ResourceExhaustedError(std::string message);
Status DataLossError(std::string message);
Status InternalError(std::string message);

// Either a value or a non-OK Status.
template <typename T>
class [[nodiscard]] StatusOr {
 public:
  StatusOr(const T& value) : state_(value) {}            // NOLINT(google-explicit-constructor)
  StatusOr(T&& value) : state_(std::move(value)) {}      // NOLINT(google-explicit-constructor)
  StatusOr(Status status) : state_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    assert(!std::get<Status>(state_).ok() && "StatusOr needs a value or an error");
  }
  // Excludes Status and StatusOr by its constraint, so it hides no copy or move.
  // NOLINTBEGIN(bugprone-forwarding-reference-overload)
  template <typename U>
  requires(std::is_constructible_v<T, U&&> && !std::is_same_v<std::decay_t<U>, Status> &&
           !std::is_same_v<std::decay_t<U>, T> && !std::is_same_v<std::decay_t<U>, StatusOr>)
      StatusOr(U&& value)
      : state_(T(std::forward<U>(value))) {}  // NOLINT(google-explicit-constructor)
  // NOLINTEND(bugprone-forwarding-reference-overload)

  bool ok() const { return std::holds_alternative<T>(state_); }

  // The error, or OK when a value is held.
  Status status() const { return ok() ? Status() : std::get<Status>(state_); }

  T& value() & { return std::get<T>(state_); }
  const T& value() const& { return std::get<T>(state_); }
  T&& value() && { return std::get<T>(std::move(state_)); }

  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<Status, T> state_;
};

namespace internal {
inline Status AsStatus(Status s) { return s; }
template <typename T>
Status AsStatus(const StatusOr<T>& s) {
  return s.status();
}
}  // namespace internal

}  // namespace latchkey

// NOLINTBEGIN(bugprone-macro-parentheses): `lhs` is a declaration, `tmp` a generated name.
#define LATCHKEY_CONCAT_INNER(a, b) a##b
#define LATCHKEY_CONCAT(a, b) LATCHKEY_CONCAT_INNER(a, b)

// Returns from the enclosing function when `expr` (a Status or StatusOr) is an error.
#define LATCHKEY_RETURN_IF_ERROR(expr)                                          \
  do {                                                                          \
    ::latchkey::Status latchkey_status_ = ::latchkey::internal::AsStatus(expr); \
    if (!latchkey_status_.ok()) return latchkey_status_;                        \
  } while (false)

// `LATCHKEY_ASSIGN_OR_RETURN(auto x, MakeX());` declares x from the value or returns the error.
#define LATCHKEY_ASSIGN_OR_RETURN(lhs, expr) \
  LATCHKEY_ASSIGN_OR_RETURN_IMPL(LATCHKEY_CONCAT(latchkey_statusor_, __LINE__), lhs, expr)
#define LATCHKEY_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                   \
  if (!tmp.ok()) return tmp.status();                  \
  lhs = std::move(tmp).value()
// NOLINTEND(bugprone-macro-parentheses)
