"""Addresses a push must never reach unless the operator allows their network.

One list, so the create-time URL check (`delivery/addresses.py`) and the connect-time resolver guard
(`delivery/http.py`) are held to the same rule.
"""

BLOCKED_ADDRESSES = [
    "127.0.0.1",
    "10.1.2.3",
    "172.16.0.1",
    "192.168.1.1",
    "169.254.169.254",
    "100.64.0.1",
    "0.0.0.0",
    "224.0.0.1",
    "240.0.0.1",
    "255.255.255.255",
    "::1",
    "fe80::1",
    "fc00::1",
    "::ffff:127.0.0.1",
    "::ffff:10.0.0.1",
    "2002:a00:1::",  # 6to4 wrapping 10.0.0.1
    "::",
    "2001:db8::1",
]

# Loopback written in IPv4's legacy forms, which `connect()` and `getaddrinfo` accept (`inet_aton`)
# but `ipaddress` does not: a check must read them as the socket layer will.
LEGACY_LOOPBACK_HOSTS = ["2130706433", "127.1", "0x7f.0.0.1", "0177.0.0.1", "0x7f000001", "127.0.1"]
