// The command socket's wire protocol, shared by lbdp (control_socket.cpp) and lbctl:
// one command per line from the client; the command's output lines, then one status
// line from the server.
#pragma once

namespace lb {

constexpr const char* kDefaultControlSocket = "/run/lbdp.sock";
constexpr const char* kStatusOk = "%% ok";
constexpr const char* kStatusError = "%% error";

}  // namespace lb
