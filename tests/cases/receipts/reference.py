# An independent implementation of the receipt formats as src/receipt.rs documents them
# (Python `cryptography` for ed25519, hashlib for SHA-256), which wrote the fixtures next to
# it: format-1.json (one receipt signed the way earlier releases did) and
# format-2-batch.json (three receipts signed together over a Merkle root). The unit tests of
# src/receipt.rs check that the service verifies both and signs the same bodies to the same
# bytes. The key is a fixed test seed (32 bytes of 7), not a service key.
# Usage: python3 tests/cases/receipts/reference.py   (prints the two fixtures, one a line)
import json, hashlib
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives import serialization
seed = bytes([7]*32)
sk = Ed25519PrivateKey.from_private_bytes(seed)
pk = sk.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()
def body(fmt, did, flags, ctx=None):
    b = {"format": fmt, "decision_id": did, "uscc": "914201158544006819",
         "entity_name": "武汉市\"长江\"建设有限公司", "ruleset": "water",
         "version_id": "106c0d6759f3a0f697ceca2fe366be1af4c7e9af66b49b58ac205116fb58fa86",
         "as_of": "2024-06-01", "known_at": "2024-06-01T02:00:00.000Z",
         "decided_at": "2024-06-01T02:00:00.123Z", "decision": "eligible", "total": "4.40",
         "vetoes": [], "flags": flags}
    if ctx: b["context"] = ctx
    return b
def canon(b): return json.dumps(b, ensure_ascii=False, separators=(",", ":")).encode()
b1 = body("credit-rules receipt 1", 17, ["行政处罚"])
r1 = dict(b1, public_key=pk, signature=sk.sign(canon(b1)).hex())
H = lambda d: hashlib.sha256(d).digest()
leaf = lambda b: H(b"\0" + canon(b))
node = lambda l, r: H(b"\1" + l + r)
def mth(ls):
    if len(ls) == 1: return ls[0]
    k = 1
    while k * 2 < len(ls): k *= 2
    return node(mth(ls[:k]), mth(ls[k:]))
def path(m, ls):
    if len(ls) == 1: return []
    k = 1
    while k * 2 < len(ls): k *= 2
    return path(m, ls[:k]) + [mth(ls[k:])] if m < k else path(m - k, ls[k:]) + [mth(ls[:k])]
F2 = "credit-rules receipt 2"
bodies = [body(F2, 17, ["行政处罚"]), body(F2, 18, []), body(F2, 19, [], {"project_type": "施工", "budget": "5000000.00"})]
ls = [leaf(b) for b in bodies]
root = mth(ls)
sig = sk.sign(b"credit-rules receipt 2 batch\0" + len(ls).to_bytes(8, "big") + root).hex()
out = [dict(b, batch={"index": i, "size": len(ls), "path": [h.hex() for h in path(i, ls)], "root": root.hex()}, public_key=pk, signature=sig) for i, b in enumerate(bodies)]
print(json.dumps(r1, ensure_ascii=False))
print(json.dumps(out, ensure_ascii=False))
