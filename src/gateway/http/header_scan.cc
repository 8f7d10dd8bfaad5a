#include "gateway/http/header_scan.h"

#include <array>
#include <bit>
#include <cstring>

#include "common/ascii.h"

namespace latchkey::gateway {
namespace {

namespace http = boost::beast::http;

// Byte classes, as Beast's parser has them (RFC 9110 §5.6.2, §5.5).
enum : unsigned char {
  kTokenChar = 1,   // tchar: a method, a field name
  kTargetChar = 2,  // any byte but a control, SP and DEL (Beast's is_pathchar)
  kValueChar = 4,   // field-vchar, obs-text, SP and HTAB: a field value, a reason phrase
};

constexpr std::array<unsigned char, 256> kClasses = [] {
  std::array<unsigned char, 256> classes{};
  for (int c = 0; c < 256; ++c) {
    unsigned char bits = 0;
    const bool control = c < 0x20 || c == 0x7f;
    if (!control && c != ' ') bits |= kTargetChar;
    if (!control || c == '\t') bits |= kValueChar;
    if (IsAsciiAlnum(static_cast<char>(c)) ||
        std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos) {
      bits |= kTokenChar;
    }
    classes[c] = bits;
  }
  return classes;
}();

bool Is(char c, unsigned char cls) { return (kClasses[static_cast<unsigned char>(c)] & cls) != 0; }

// The index of the first non-zero byte of `mask`, its bytes in memory order.
int FirstSetByte(uint64_t mask) {
  if constexpr (std::endian::native == std::endian::little) return std::countr_zero(mask) / 8;
  return std::countl_zero(mask) / 8;
}

// The first byte from `p` on that a field value may not hold, at most `end`. Sixteen bytes
// at a time (GCC and Clang vector extensions: SSE2 on x86-64, NEON on arm64), as most
// values are long (tokens, dates, URLs), then a byte at a time.
const char* SkipValueBytes(const char* p, const char* end) {
  using Bytes = unsigned char __attribute__((vector_size(16)));
  for (; end - p >= 16; p += 16) {
    Bytes bytes;
    std::memcpy(&bytes, p, sizeof bytes);
    const auto refused = ((bytes < 0x20) & (bytes != '\t')) | (bytes == 0x7f);  // 0xff where refused
    uint64_t halves[2];
    std::memcpy(halves, &refused, sizeof halves);
    if (halves[0] != 0) return p + FirstSetByte(halves[0]);
    if (halves[1] != 0) return p + 8 + FirstSetByte(halves[1]);
  }
  while (p != end && Is(*p, kValueChar)) ++p;
  return p;
}

// Reads the rest of a field line from `p` (just past the colon) up to `end` (the empty
// line ending the section): the value without the whitespace around it, with `p` left at
// the next line. False for a byte a value may not hold, a CR without LF, or a next line
// that continues this one (obs-fold, which Beast joins).
bool ReadValue(const char*& p, const char* end, std::string_view& value) {
  while (*p == ' ' || *p == '\t') ++p;
  const char* first = p;
  p = SkipValueBytes(p, end);
  if (p[0] != '\r' || p[1] != '\n') return false;
  const char* last = p;
  while (last != first && (last[-1] == ' ' || last[-1] == '\t')) --last;
  value = std::string_view(first, static_cast<size_t>(last - first));
  p += 2;
  return *p != ' ' && *p != '\t';
}

// The fields that change how Beast frames a message or keeps its connection.
enum class Special { kNone, kContentLength, kConnection, kRefused };

Special SpecialField(std::string_view name) {
  switch (name.size()) {  // one comparison at most
    case 7: return AsciiEqualsLowerWord(name, "upgrade") ? Special::kRefused : Special::kNone;
    case 10: return AsciiEqualsLowerWord(name, "connection") ? Special::kConnection : Special::kNone;
    case 14: return AsciiEqualsLowerWord(name, "content-length") ? Special::kContentLength : Special::kNone;
    case 16: return AsciiEqualsLowerWord(name, "proxy-connection") ? Special::kRefused : Special::kNone;
    case 17: return AsciiEqualsLowerWord(name, "transfer-encoding") ? Special::kRefused : Special::kNone;
    default: return Special::kNone;
  }
}

// A Content-Length value Beast reads as the same number: digits only, no leading zero
// but in "0", at most 18 of them (far past any cap, and no overflow).
bool ReadLength(std::string_view value, uint64_t& length) {
  if (value.empty() || value.size() > 18 || (value.size() > 1 && value[0] == '0')) return false;
  length = 0;
  for (char c : value) {
    if (c < '0' || c > '9') return false;
    length = length * 10 + static_cast<uint64_t>(c - '0');
  }
  return true;
}

// Reads the field lines from `p` to the empty line that ends `section`, with what
// framing and keep-alive they declare. False for anything outside the plain shape.
bool ReadFields(const char* p, std::string_view section, ScannedHeader& out) {
  const char* end = section.data() + section.size() - 2;  // the empty line
  out.field_count = 0;
  out.content_length = 0;
  out.has_content_length = false;
  out.keep_alive = true;
  while (p != end) {
    if (out.field_count == ScannedHeader::kMaxFields) return false;
    const char* first = p;
    while (Is(*p, kTokenChar)) ++p;
    if (*p != ':' || p == first) return false;
    const std::string_view name(first, static_cast<size_t>(p - first));
    ++p;
    std::string_view value;
    if (!ReadValue(p, end, value)) return false;
    switch (SpecialField(name)) {
      case Special::kNone: break;
      case Special::kRefused: return false;
      case Special::kContentLength:
        if (out.has_content_length || !ReadLength(value, out.content_length)) return false;
        out.has_content_length = true;
        break;
      case Special::kConnection:
        if (AsciiEqualsLowerWord(value, "close")) {
          out.keep_alive = false;
        } else if (!AsciiEqualsLowerWord(value, "keep-alive")) {
          return false;
        }
        break;
    }
    out.fields[out.field_count++] = {name, value};
  }
  return true;
}

// The header section at the front of `bytes`, the empty line included, if it is all there
// and at most `header_limit` bytes long.
bool FindSection(std::string_view bytes, uint32_t header_limit, std::string_view& section) {
  const size_t end = bytes.substr(0, header_limit).find("\r\n\r\n");
  if (end == std::string_view::npos || end + 4 > header_limit) return false;
  section = bytes.substr(0, end + 4);
  return true;
}

// The only version taken (an HTTP/1.0 message keeps its connection by other rules).
constexpr std::string_view kRequestVersion = "HTTP/1.1\r\n";  // ends the request line
constexpr std::string_view kResponseVersion = "HTTP/1.1 ";    // begins the status line

}  // namespace

bool ScanRequest(std::string_view bytes, uint32_t header_limit, ScannedHeader& out) {
  std::string_view section;
  if (!FindSection(bytes, header_limit, section)) return false;
  const char* p = section.data();
  const char* first = p;
  while (Is(*p, kTokenChar)) ++p;
  if (*p != ' ' || p == first) return false;
  out.method = http::string_to_verb(std::string_view(first, static_cast<size_t>(p - first)));
  if (out.method == http::verb::unknown || out.method == http::verb::connect) return false;
  first = ++p;
  while (Is(*p, kTargetChar)) ++p;
  if (*p != ' ' || p == first) return false;
  out.target = std::string_view(first, static_cast<size_t>(p - first));
  ++p;
  if (!section.substr(static_cast<size_t>(p - section.data())).starts_with(kRequestVersion)) return false;
  p += kRequestVersion.size();
  if (!ReadFields(p, section, out) || out.content_length != 0) return false;
  out.size = section.size();
  return true;
}

bool ScanResponse(std::string_view bytes, uint32_t header_limit, uint64_t max_body, ScannedHeader& out) {
  std::string_view section;
  if (!FindSection(bytes, header_limit, section)) return false;
  if (!section.starts_with(kResponseVersion)) return false;
  const char* p = section.data() + kResponseVersion.size();
  unsigned status = 0;
  for (int digit = 0; digit < 3; ++digit, ++p) {
    if (*p < '0' || *p > '9') return false;
    status = status * 10 + static_cast<unsigned>(*p - '0');
  }
  if (*p != ' ' || status < 200 || status > 599 || status == 204 || status == 304) return false;
  const char* first = ++p;
  p = SkipValueBytes(p, section.data() + section.size());
  if (p[0] != '\r' || p[1] != '\n') return false;
  out.status = status;
  out.reason = std::string_view(first, static_cast<size_t>(p - first));
  p += 2;
  if (!ReadFields(p, section, out) || !out.has_content_length || out.content_length > max_body) {
    return false;
  }
  out.size = section.size();
  return true;
}

ScannedHeader& ThreadScannedHeader() {
  thread_local ScannedHeader scratch;
  return scratch;
}

void InsertFields(const ScannedHeader& scanned, http::fields& fields) {
  for (size_t i = 0; i < scanned.field_count; ++i)
    fields.insert(scanned.fields[i].name, scanned.fields[i].value);
}

}  // namespace latchkey::gateway
