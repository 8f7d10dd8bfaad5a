#include "oauth/public_address.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <string>

namespace latchkey::oauth {
namespace {

// `text` (an IPv4 or IPv6 address) as the sockaddr curl hands over.
bool Public(const std::string& text) {
  sockaddr_storage storage{};
  if (auto* v4 = reinterpret_cast<sockaddr_in*>(&storage);
      inet_pton(AF_INET, text.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    return IsPublicAddress(reinterpret_cast<sockaddr*>(&storage), sizeof(sockaddr_in));
  }
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&storage);
  EXPECT_EQ(inet_pton(AF_INET6, text.c_str(), &v6->sin6_addr), 1) << text;
  v6->sin6_family = AF_INET6;
  return IsPublicAddress(reinterpret_cast<sockaddr*>(&storage), sizeof(sockaddr_in6));
}

TEST(PublicAddressTest, GlobalUnicastIsPublic) {
  for (const char* address :
       {"8.8.8.8", "1.1.1.1", "11.0.0.1", "100.63.255.255", "100.128.0.0", "172.15.255.255", "172.32.0.0",
        "192.167.255.255", "192.169.0.0", "198.17.255.255", "198.20.0.0", "223.255.255.254",
        "2606:4700::1111", "2001:4860:4860::8888", "2001:200::1", "::ffff:8.8.8.8", "64:ff9b::808:808"}) {
    EXPECT_TRUE(Public(address)) << address;
  }
}

TEST(PublicAddressTest, LocalPrivateAndReservedAreNot) {
  for (const char* address :
       {// IPv4
        "0.0.0.0", "0.1.2.3", "10.0.0.1", "10.255.255.255", "100.64.0.1", "100.127.255.255", "127.0.0.1",
        "127.255.255.254", "169.254.169.254", "172.16.0.1", "172.31.255.255", "192.0.0.8", "192.0.2.1",
        "192.88.99.1", "192.168.1.1", "198.18.0.1", "198.19.255.255", "198.51.100.7", "203.0.113.9",
        "224.0.0.1", "239.255.255.250", "240.0.0.1", "255.255.255.255",
        // IPv6
        "::", "::1", "::127.0.0.1", "100::1", "fc00::1", "fd12:3456::1", "fe80::1", "fec0::1", "ff02::1",
        "ff0e::1", "2001::1", "2001:1ff::1", "2001:db8::1", "2002:7f00:1::1", "3fff::1", "4000::1",
        "64:ff9b:1::1",
        // IPv4 forms of the above, written as IPv6
        "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254", "::ffff:0.0.0.0", "64:ff9b::7f00:1",
        "64:ff9b::a9fe:a9fe"}) {
    EXPECT_FALSE(Public(address)) << address;
  }
}

TEST(PublicAddressTest, OtherFamiliesAndShortLengthsAreNot) {
  sockaddr_in v4{};
  v4.sin_family = AF_INET;
  ASSERT_EQ(inet_pton(AF_INET, "8.8.8.8", &v4.sin_addr), 1);
  EXPECT_TRUE(IsPublicAddress(reinterpret_cast<sockaddr*>(&v4), sizeof v4));
  EXPECT_FALSE(IsPublicAddress(reinterpret_cast<sockaddr*>(&v4), sizeof v4 - 1));
  sockaddr_un unix_socket{};
  unix_socket.sun_family = AF_UNIX;
  EXPECT_FALSE(IsPublicAddress(reinterpret_cast<sockaddr*>(&unix_socket), sizeof unix_socket));
  EXPECT_FALSE(IsPublicAddress(nullptr, 0));
}

}  // namespace
}  // namespace latchkey::oauth
