#include "gateway/admin/html_page.h"

namespace latchkey::gateway {

std::string HtmlEscape(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string Page(std::string_view title, std::string_view message, std::string_view link_text,
                 std::string_view link_href) {
  std::string link;
  if (!link_href.empty()) {
    link = "<p><a id=\"next\" href=\"" + HtmlEscape(link_href) + "\">" + HtmlEscape(link_text) + "</a></p>";
  }
  return Document(title, "<p>" + HtmlEscape(message) + "</p>" + link);
}

std::string Document(std::string_view title, std::string_view body_html, std::string_view head_html) {
  return "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>latchkey</title>" +
         std::string(head_html) +
         "</head><body style=\"font-family:sans-serif;margin:3em;max-width:50em\"><h1>" + HtmlEscape(title) +
         "</h1>" + std::string(body_html) + "</body></html>\n";
}

}  // namespace latchkey::gateway
