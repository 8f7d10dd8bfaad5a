// The small HTML pages a browser sees around a consent flow (the daemon's consent pages
// and /oauth/callback, the CLI's loopback listener). Pure; any thread.
#pragma once

#include <string>
#include <string_view>

namespace latchkey::gateway {

std::string HtmlEscape(std::string_view text);

// A complete page with a heading and one paragraph, both escaped, and a link when
// `link_href` is set (e.g. back to the dashboard).
std::string Page(std::string_view title, std::string_view message, std::string_view link_text = {},
                 std::string_view link_href = {});

// A complete page around `body_html` (already escaped: the caller builds it with
// HtmlEscape), with `head_html` added to <head> (e.g. a meta refresh). The title is escaped.
std::string Document(std::string_view title, std::string_view body_html, std::string_view head_html = {});

}  // namespace latchkey::gateway
