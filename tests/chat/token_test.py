"""chat-svc with identity: a stream that carries a verified bearer token chats as the token's subject,
whatever user_id its messages claim; a claim of another user is refused; a forged or expired token is
refused before the stream opens; a stream without a token is still served (chat.require_token off).
usage: token_test.py STUBS_DIR GRPC_TARGET TOKENS_DIR SRC_DIR"""
import queue, sys, threading, time
stubs, target, tokens_dir, src = sys.argv[1:5]
sys.path.insert(0, stubs)
sys.path.insert(0, src + "/tests/license")
import grpc
from chat.v1 import chat_pb2 as pb, chat_pb2_grpc as rpc
from tokens import Minter

minter = Minter(tokens_dir)
stub = rpc.ChatServiceStub(grpc.insecure_channel(target))
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)


def stream(messages, token=None, wait=2.0):
    """Sends messages on one stream, reads for `wait` seconds; returns (received, error code or None)."""
    q, got, err = queue.Queue(), [], []
    for m in messages:
        q.put(m)

    def gen():
        while True:
            m = q.get()
            if m is None:
                return
            yield m
    md = [("authorization", "Bearer " + token)] if token else None
    call = stub.BidirectionalChat(gen(), metadata=md, timeout=wait + 3)

    def read():
        try:
            for m in call:
                got.append(m)
        except grpc.RpcError as e:
            err.append(e.code())
    t = threading.Thread(target=read, daemon=True)
    t.start()
    time.sleep(wait)
    q.put(None)
    t.join(5)
    return got, (err[0] if err else None)


ann = minter.token("1001", ["citizen"])
# user_id left out: the token names the user.
got, code = stream([pb.ChatMessage(content="hello from the token")], token=ann)
mine = [m for m in got if m.content == "hello from the token"]
check(code is None and mine and mine[0].user_id == "1001", f"token user: {code} {[(m.user_id, m.content) for m in got]}")
# Claiming someone else with a valid token: PERMISSION_DENIED, nothing broadcast as them.
got, code = stream([pb.ChatMessage(user_id="mallory", content="as mallory")], token=ann)
check(code == grpc.StatusCode.PERMISSION_DENIED, f"a claim of another user: {code}")
check(not any(m.user_id == "mallory" for m in got), "nothing was sent as mallory")
# The same user_id as the token is fine.
got, code = stream([pb.ChatMessage(user_id="1001", content="same user")], token=ann)
check(code is None and any(m.content == "same user" and m.user_id == "1001" for m in got), f"matching user_id: {code}")
# Forged and expired tokens never open a stream.
got, code = stream([pb.ChatMessage(content="x")], token=minter.forged("1001", ["citizen"]), wait=0.5)
check(code == grpc.StatusCode.UNAUTHENTICATED, f"a forged token: {code}")
got, code = stream([pb.ChatMessage(content="x")],
                   token=minter.token("1001", ["citizen"], ttl=60, iat=int(time.time()) - 3600), wait=0.5)
check(code == grpc.StatusCode.UNAUTHENTICATED, f"an expired token: {code}")
# No token: the bare contract still works (chat.require_token is off).
got, code = stream([pb.ChatMessage(user_id="guest", content="no token")])
check(code is None and any(m.user_id == "guest" and m.content == "no token" for m in got), f"without a token: {code}")

if failures:
    print("chat token failures:\n  " + "\n  ".join(failures))
    sys.exit(1)
print("chat tokens: ok (subject from the token, other claims refused, forged/expired refused, anonymous served)")
