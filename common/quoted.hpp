// A string as a double-quoted literal that is valid both as a JSON string and as a TOML
// basic string: the escapes they share (\" \\ \n \r \t, and \u with four hex digits
// for the other control characters and DEL). lbdp writes TOML with it (show config),
// lbcp JSON (webhooks). Pure function; thread-safe.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>

namespace lb {

inline std::string quoted(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

}  // namespace lb
