#include "oauth/pkce.h"

#include <gtest/gtest.h>

#include <set>

namespace latchkey::oauth {
namespace {

// RFC 7636 Appendix B.
TEST(PkceTest, S256MatchesRfc7636AppendixB) {
  EXPECT_EQ(S256Challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
}

TEST(PkceTest, VerifierUsesUnreservedCharactersAndRequestedLength) {
  for (std::size_t length : {43u, 64u, 128u}) {
    auto verifier = NewCodeVerifier(SystemRandom::Instance(), length);
    ASSERT_TRUE(verifier.ok());
    EXPECT_EQ(verifier->size(), length);
    for (char c : verifier->reveal()) {
      EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_' || c == '~')
          << c;
    }
  }
}

TEST(PkceTest, VerifierLengthOutsideRfcRangeIsRejected) {
  EXPECT_EQ(NewCodeVerifier(SystemRandom::Instance(), 42).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(NewCodeVerifier(SystemRandom::Instance(), 129).status().code(), StatusCode::kInvalidArgument);
}

TEST(PkceTest, PairChallengeMatchesVerifier) {
  PkcePair pair = NewPkcePair(SystemRandom::Instance());
  EXPECT_EQ(pair.method, "S256");
  EXPECT_EQ(pair.challenge, S256Challenge(pair.verifier.reveal()));
  EXPECT_EQ(pair.challenge.size(), 43u);
}

TEST(PkceTest, StateAndNonceAreFreshAndUrlSafe) {
  std::set<std::string> seen;
  for (int i = 0; i < 50; ++i) {
    std::string state = NewState(SystemRandom::Instance());
    std::string nonce = NewNonce(SystemRandom::Instance());
    EXPECT_EQ(state.size(), 43u);
    EXPECT_EQ(state.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
              std::string::npos);
    EXPECT_TRUE(seen.insert(state).second);
    EXPECT_TRUE(seen.insert(nonce).second);
  }
}

}  // namespace
}  // namespace latchkey::oauth
