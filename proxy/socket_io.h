// Socket reads and writes for the forwarding path, done as plain non-blocking calls that wait on
// the reactor only when the kernel says "would block". Asio's own async_write goes through its
// reactor's write queue, which costs an extra epoll_ctl per write on this kernel (measured with
// strace), and so does async_wait; a small response nearly always fits the socket's send
// buffer, so the direct call is one syscall.
#pragma once

#include <cstdint>
#include <span>
#include <utility>

#include "config/config.h"
#include "proxy/asio_types.h"
#include "proxy/peer_wait.h"

namespace sluice::proxy {

// Opens, binds and listens (SO_REUSEADDR, and SO_REUSEPORT when asked); throws on failure,
// which is a start-up error.
void listen_on(tcp::acceptor& acceptor, const endpoint& where, bool reuse_port);

// Puts the socket in the mode the functions below need (non-blocking synchronous calls).
void prepare_socket(tcp::socket& socket);

// Writes every byte, waiting for room when the send buffer is full. `stalled`, when given, is
// marked while the peer does not read (client_write_timeout).
awaitable<error_code> write_all(tcp::socket& socket, std::span<const std::uint8_t> bytes,
                                peer_wait* stalled = nullptr);

// Reads what is there once the socket is readable (at least one byte, or an error; end of
// stream is asio::error::eof).
awaitable<std::pair<error_code, std::size_t>> read_some(tcp::socket& socket,
                                                        std::span<std::uint8_t> buffer);

// Waits until the socket is readable (or closed) without taking a byte: a peek, which unlike
// async_wait costs no epoll re-arm.
awaitable<error_code> wait_readable(tcp::socket& socket);

}  // namespace sluice::proxy
