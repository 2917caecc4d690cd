// A stand-in for the sluice binary that only listens, so the harness can be tested on its own.
//
// `fake_proxy --config FILE` listens on the port of FILE's `listen = host:port`, accepts and
// closes connections, and exits 0 on SIGTERM. In FILE, `exit_code = N` makes it exit with N at
// once and `ignore_sigterm = 1` makes it ignore SIGTERM. `fake_proxy --version` prints a version.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <string>

namespace {

volatile std::sig_atomic_t stop_requested = 0;

void on_sigterm(int) {
  stop_requested = 1;
}

std::string trim(const std::string& s) {
  const auto first = s.find_first_not_of(" \t\r");
  if (first == std::string::npos) return "";
  const auto last = s.find_last_not_of(" \t\r");
  return s.substr(first, last - first + 1);
}

std::map<std::string, std::string> read_keys(const char* path) {
  std::map<std::string, std::string> keys;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    const auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    keys[trim(line.substr(0, eq))] = trim(line.substr(eq + 1));
  }
  return keys;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 2 && std::string(argv[1]) == "--version") {
    std::cout << "fake_proxy 0.0\n";
    return 0;
  }
  if (argc != 3 || std::string(argv[1]) != "--config") {
    std::cerr << "usage: fake_proxy --config FILE | --version\n";
    return 2;
  }
  auto keys = read_keys(argv[2]);
  if (keys.count("exit_code") != 0) {
    std::cerr << "fake_proxy: exiting with " << keys["exit_code"] << " as configured\n";
    return std::atoi(keys["exit_code"].c_str());
  }
  const std::string listen_address = keys["listen"];
  const int port = std::atoi(listen_address.substr(listen_address.rfind(':') + 1).c_str());

  struct sigaction action {};
  action.sa_handler = keys["ignore_sigterm"] == "1" ? SIG_IGN : on_sigterm;
  sigaction(SIGTERM, &action, nullptr);

  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(fd, 64) != 0) {
    std::perror("fake_proxy: bind/listen");
    return 1;
  }
  std::cout << "fake_proxy: listening on " << port << std::endl;
  while (stop_requested == 0) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 50) == 1) {
      const int client = accept(fd, nullptr, nullptr);
      if (client >= 0) close(client);
    }
  }
  std::cout << "fake_proxy: stopping on SIGTERM" << std::endl;
  close(fd);
  return 0;
}
