// The small HTML pages a browser sees at the end of a consent flow (the daemon's
// /oauth/callback and the CLI's loopback listener). Pure; any thread.
#pragma once

#include <string>
#include <string_view>

namespace latchkey::gateway {

std::string HtmlEscape(std::string_view text);

// A complete page with a heading and one paragraph, both escaped, and a link when
// `link_href` is set (e.g. back to the dashboard).
std::string Page(std::string_view title, std::string_view message, std::string_view link_text = {},
                 std::string_view link_href = {});

}  // namespace latchkey::gateway
