// Names the calling thread as `top -H`, ps and debuggers show it (at most 15 characters
// are kept), so an operator can tell the I/O workers from the audit writer at a glance.
#pragma once

#include <pthread.h>

#include <string>
#include <string_view>

namespace latchkey {

inline void NameThisThread(std::string_view name) {
  const std::string kept(name.substr(0, 15));
  pthread_setname_np(pthread_self(), kept.c_str());
}

}  // namespace latchkey
