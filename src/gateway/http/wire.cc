#include "gateway/http/wire.h"

namespace latchkey::gateway {
namespace {

namespace http = boost::beast::http;
using namespace std::string_view_literals;  // "..."sv: appended without a strlen

void AppendVersion(unsigned version, std::string& out) {
  out += "HTTP/"sv;
  out += static_cast<char>('0' + version / 10);
  out += '.';
  out += static_cast<char>('0' + version % 10);
}

void AppendFields(const http::fields& fields, std::string& out) {
  for (const auto& field : fields) {
    out += field.name_string();
    out += ": "sv;
    out += field.value();
    out += "\r\n"sv;
  }
}

}  // namespace

void AppendHeader(const ResponseMessage& message, std::string& out) {
  const http::response_header<>& header = message.base();
  AppendVersion(header.version(), out);
  out += ' ';
  const unsigned status = header.result_int();
  out += static_cast<char>('0' + status / 100 % 10);
  out += static_cast<char>('0' + status / 10 % 10);
  out += static_cast<char>('0' + status % 10);
  out += ' ';
  out += header.reason();
  out += "\r\n"sv;
  AppendFields(header, out);
  out += message.lines.text();
  out += "\r\n"sv;
}

}  // namespace latchkey::gateway
