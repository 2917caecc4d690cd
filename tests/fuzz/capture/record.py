#!/usr/bin/env python3
"""A loopback TCP relay that records both directions of every connection it relays.

Usage: record.py LISTEN_PORT TARGET_PORT OUT_DIR
Each connection is written to OUT_DIR/conn-N.bin as records: one byte 'C' (client to server) or
'S' (server to client), int<4> little-endian length, the bytes. Runs until killed.
"""
import os
import socket
import struct
import sys
import threading


def relay(conn_id, client, target_port, out_dir):
    server = socket.create_connection(("127.0.0.1", target_port))
    lock = threading.Lock()
    records = []

    def pump(src, dst, tag):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                with lock:
                    records.append((tag, data))
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    threads = [threading.Thread(target=pump, args=(client, server, b"C")),
               threading.Thread(target=pump, args=(server, client, b"S"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with open(os.path.join(out_dir, f"conn-{conn_id:03d}.bin"), "wb") as f:
        for tag, data in records:
            f.write(tag + struct.pack("<I", len(data)) + data)
    client.close()
    server.close()


def main():
    listen_port, target_port, out_dir = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    os.makedirs(out_dir, exist_ok=True)
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", listen_port))
    listener.listen(64)
    conn_id = 0
    while True:
        client, _ = listener.accept()
        conn_id += 1
        threading.Thread(target=relay, args=(conn_id, client, target_port, out_dir),
                         daemon=True).start()


if __name__ == "__main__":
    main()
