#include "gateway/html_page.h"

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
  return "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>latchkey</title></head>"
         "<body style=\"font-family:sans-serif;margin:3em\"><h1>" +
         HtmlEscape(title) + "</h1><p>" + HtmlEscape(message) + "</p>" + link + "</body></html>\n";
}

}  // namespace latchkey::gateway
