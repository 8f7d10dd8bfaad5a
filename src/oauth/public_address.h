// IsPublicAddress: whether an address is one of the global internet's, for requests to
// URLs a stranger chose (a client's metadata document): such a request must not reach
// this host, its network or a cloud metadata service (SSRF). CurlHttpClient applies it
// to each address it is about to connect to. Pure: any thread.
#pragma once

#include <sys/socket.h>

namespace latchkey::oauth {

// True only for a globally routable unicast IPv4 or IPv6 address. False for loopback,
// private (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7), link-local (169.254/16,
// fe80::/10), unspecified, multicast, 0/8, documentation, benchmarking and reserved
// ranges, every IPv6 address outside 2000::/3, and tunnel forms that carry an IPv4
// address to a relay (6to4, Teredo). An IPv4 address written as IPv6 (::ffff:a.b.c.d,
// or 64:ff9b::a.b.c.d through NAT64) is judged as the IPv4 address. False for any other
// family, or a `length` too short for the family.
bool IsPublicAddress(const sockaddr* address, socklen_t length);

}  // namespace latchkey::oauth
