#include "gateway/http/wire.h"

#include <sys/socket.h>
#include <sys/uio.h>

#include <cerrno>

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

size_t SendNow(boost::asio::ip::tcp::socket& socket, const MessageBuffers& message,
               boost::system::error_code& ec) {
  ec = {};
  std::array<iovec, 2> pieces{};
  for (size_t i = 0; i < message.size(); ++i) {
    pieces[i].iov_base = const_cast<void*>(message[i].data());  // sendmsg only reads them
    pieces[i].iov_len = message[i].size();
  }
  msghdr header{};
  header.msg_iov = pieces.data();
  header.msg_iovlen = pieces.size();
  for (;;) {
    // MSG_DONTWAIT whatever mode the socket is in; MSG_NOSIGNAL: a closed peer is an
    // error here, not a SIGPIPE.
    const ssize_t sent = ::sendmsg(socket.native_handle(), &header, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (sent >= 0) return static_cast<size_t>(sent);
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) ec.assign(errno, boost::system::system_category());
    return 0;
  }
}

}  // namespace latchkey::gateway
