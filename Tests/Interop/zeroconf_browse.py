#!/usr/bin/env python3
"""An independent DNS-SD browser, for MeetKit's lab tests: what does a stranger on the link see?

Built on PyPI `zeroconf` (python-zeroconf), an mDNS stack of its own that shares no code with
Avahi or MeetKit. Tests/Interop/setup.sh installs it into `.venv-interop`; run this file with
that venv's python.

    zeroconf_browse.py SECONDS [--type _meetkit._tcp.local.]

Browses the service type for SECONDS seconds over IPv4 on every interface, then exits 0. Each
service found is resolved and printed on stdout as one JSON object per line, flushed at once:

    {"name": INSTANCE, "addresses": ["10.77.0.11"], "port": 7420, "txt": {"v": "1", "t": "abc"}}

`name` is the instance name (the full name without the service type). TXT keys and values are
decoded as UTF-8 text (undecodable bytes become U+FFFD); a key without "=" has the value null.
A service is printed again only if what it resolves to changes. Removals are not printed.

python-zeroconf binds UDP port 5353 itself, so it needs no daemon. It shares the port with an
avahi-daemon in the same network namespace (both set SO_REUSEADDR) and then still finds the
services, but the lab tests run it on a host whose avahi-daemon is stopped (lab.sh avahi-stop):
a stranger with no Avahi at all, and no second responder on the host to answer for it.

Exit status: 0 after SECONDS (whether or not anything was found), 2 on bad usage.
"""

import argparse
import json
import queue
import sys
import time

from zeroconf import IPVersion, ServiceBrowser, ServiceInfo, ServiceStateChange, Zeroconf

RESOLVE_TIMEOUT_MS = 3000


def text(data):
    return None if data is None else data.decode("utf-8", errors="replace")


def describe(info, service_type):
    name = info.name
    if name.endswith("." + service_type):
        name = name[: -len(service_type) - 1]
    return {
        "name": name,
        "addresses": info.parsed_addresses(),
        "port": info.port,
        "txt": {text(key): text(value) for key, value in info.properties.items()},
    }


def main():
    parser = argparse.ArgumentParser(description="Browse DNS-SD services with python-zeroconf.")
    parser.add_argument("seconds", type=float, help="how long to browse")
    parser.add_argument("--type", default="_meetkit._tcp.local.", help="the service type")
    arguments = parser.parse_args()
    service_type = arguments.type if arguments.type.endswith(".") else arguments.type + "."
    deadline = time.monotonic() + arguments.seconds

    # The browser calls back on zeroconf's own thread; resolving happens here, on the main one.
    found = queue.Queue()

    def on_change(zeroconf, service_type, name, state_change):
        if state_change in (ServiceStateChange.Added, ServiceStateChange.Updated):
            found.put(name)

    zeroconf = Zeroconf(ip_version=IPVersion.V4Only)
    try:
        ServiceBrowser(zeroconf, service_type, handlers=[on_change])
        printed = {}
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                name = found.get(timeout=min(remaining, 0.1))
            except queue.Empty:
                continue
            info = ServiceInfo(service_type, name)
            timeout = int(min(RESOLVE_TIMEOUT_MS, max(deadline - time.monotonic(), 0.1) * 1000))
            if not info.request(zeroconf, timeout):
                found.put(name)  # not resolved yet: try again while time remains
                continue
            line = json.dumps(describe(info, service_type), sort_keys=True)
            if printed.get(name) != line:
                printed[name] = line
                print(line, flush=True)
    finally:
        zeroconf.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
