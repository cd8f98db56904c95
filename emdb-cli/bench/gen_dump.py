#!/usr/bin/env python3
"""Writes an emdb dump of N records to standard output, for measuring `emdb load` and `emdb dump`.

    gen_dump.py N          24-byte text keys (key:<20 digits>), 150-byte text values
    gen_dump.py N binary   24-byte binary keys, 150 random bytes per value (base64 in the dump)

The records are the same on every run (fixed seeds); keys ascend, so a dump of the loaded
database is the same file byte for byte.
"""
import base64
import random
import sys

n = int(sys.argv[1])
binary = len(sys.argv) > 2 and sys.argv[2] == "binary"
out = sys.stdout
out.write('{"format":"emdb-dump","version":1}\n')
if not binary:
    rnd = random.Random(42)
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    text = "".join(rnd.choice(alphabet) for _ in range(150 + 4096))
    for i in range(n):
        off = (i * 7919) % 4096
        out.write('{"namespace":"","key":"key:%020d","value":"%s","expiry":null}\n'
                  % (i, text[off:off + 150]))
else:
    rnd = random.Random(7)
    pool = bytes(rnd.getrandbits(8) for _ in range(150 + 4096))
    for i in range(n):
        key = base64.b64encode(i.to_bytes(8, "big") + pool[i % 4096:i % 4096 + 16]).decode()
        off = (i * 7919) % 4096
        value = base64.b64encode(pool[off:off + 150]).decode()
        out.write('{"namespace":"","key":{"base64":"%s"},"value":{"base64":"%s"},"expiry":null}\n'
                  % (key, value))
