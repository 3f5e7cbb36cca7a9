# SPDX-License-Identifier: MIT
# A server whose requests leave reference cycles (automatic collection off),
# snapshotted from outside (`leakscope snapshot PID`). Commands on stdin,
# "ready" on stdout after each: "work" serves 200 requests, "block" waits
# for the next line in a blocking read, where no bytecode runs.
import gc
import select
import sys


class Session:
    def __init__(self):
        self.peer = self
        self.payload = bytearray(800)  # @served


def request():
    Session()


def wait_running_python():
    """Polls stdin, running bytecode between polls (a pending call can run)."""
    while not select.select([sys.stdin], [], [], 0.005)[0]:
        pass
    return sys.stdin.readline().strip()


gc.disable()
for _ in range(50):
    request()
print("ready", flush=True)
command = wait_running_python()
while command == "work":
    for _ in range(200):
        request()
    print("ready", flush=True)
    command = wait_running_python()
if command == "block":
    print("ready", flush=True)
    sys.stdin.readline()
