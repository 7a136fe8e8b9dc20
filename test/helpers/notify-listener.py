#!/usr/bin/python3
"""A systemd notify socket for tests: binds an AF_UNIX datagram socket at argv[1], as the service manager does, and
prints one JSON line per message: when it arrived (ms since the epoch), the sender's pid and uid from the kernel (SO_PASSCRED, what systemd attributes a
message by) and the assignments. File descriptors passed with a message (systemd-notify's BARRIER=1) are closed at
once, which is how the manager answers a barrier. Runs until SIGTERM."""
import array, json, os, signal, socket, struct, sys, time

path = sys.argv[1]
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
sock.bind(path)
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
print(json.dumps({"listening": path}), flush=True)
while True:
    data, ancdata, _flags, _addr = sock.recvmsg(4096, socket.CMSG_SPACE(12) + socket.CMSG_SPACE(4 * 16))
    pid = uid = None
    fds = 0
    for level, kind, payload in ancdata:
        if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
            pid, uid, _gid = struct.unpack("iII", payload[:12])
        elif level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            for fd in array.array("i", payload[: len(payload) - len(payload) % 4]):
                os.close(fd)
                fds += 1
    print(json.dumps({"t": time.time() * 1000, "pid": pid, "uid": uid, "fds": fds, "text": data.decode("utf-8", "replace")}), flush=True)
