// lbdp: the appliance's DPDK dataplane. See app.hpp for the start-up order and
// docs/dataplane.md for how to run it.
#include <rte_eal.h>
#include <rte_errno.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstring>

#include "app.hpp"

int main(int argc, char** argv) {
  // Validation alone needs no EAL (and no root): lbdp --check-config FILE
  if (argc == 3 && std::strcmp(argv[1], "--check-config") == 0) {
    lb::ConfigResult r = lb::load_config(argv[2]);
    for (const auto& e : r.errors) std::fprintf(stderr, "%s\n", e.c_str());
    if (r.config) std::printf("%s: ok (%zu ports, %zu VIPs)\n", argv[2], r.config->ports.size(), r.config->vips.size());
    return r.config ? 0 : 1;
  }
  int consumed = rte_eal_init(argc, argv);
  if (consumed < 0) {
    std::fprintf(stderr, "lbdp: EAL initialisation failed: %s\n", rte_strerror(rte_errno));
    return 1;
  }
  argv[consumed] = argv[0];
  int status = 0;
  {
    lb::App app(lb::parse_options(argc - consumed, argv + consumed));
    if (app.start()) app.run();
    else status = 1;
  }  // the destructor tears start-up down in reverse
  rte_eal_cleanup();
  return status;
}
