# chat-svc driven by Python's grpcio (a client nobody here wrote): bidirectional chat, server-assigned
# ids and timestamps, input checks, cancellation, deadlines, the standard health check and a slow
# consumer; server reflection as a generic client (grpcurl, Postman) uses it. usage: chat_test.py STUBS_DIR GRPC_TARGET ADMIN_URL
import queue, sys, threading, time, urllib.request
stubs, target, admin = sys.argv[1:4]
sys.path.insert(0, stubs)
import grpc
from chat.v1 import chat_pb2 as pb, chat_pb2_grpc as rpc
import health_pb2, health_pb2_grpc
import reflection_pb2, reflection_pb2_grpc
from google.protobuf import descriptor_pb2

channel = grpc.insecure_channel(target)
stub = rpc.ChatServiceStub(channel)
failures = []
def check(cond, what):
    if not cond:
        failures.append(what)

def metric(name):
    text = urllib.request.urlopen(admin + "/metrics").read().decode()
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.split()[-1])
    return 0.0

class Client:
    """One bidirectional stream: send() queues a request, received collects what arrives."""
    def __init__(self, user, timeout=None):
        self.user, self.requests, self.received, self.error = user, queue.Queue(), [], None
        self.done = threading.Event()
        def gen():
            while True:
                m = self.requests.get()
                if m is None:
                    return
                yield m
        self.call = stub.BidirectionalChat(gen(), timeout=timeout)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
    def _read(self):
        try:
            for m in self.call:
                self.received.append(m)
        except grpc.RpcError as e:
            self.error = e
        self.done.set()
    def send(self, kind=pb.ChatMessage.KIND_MESSAGE, room="general", content="", user=None):
        self.requests.put(pb.ChatMessage(user_id=self.user if user is None else user, room=room, content=content, kind=kind))
    def join(self, room="general"):
        self.send(kind=pb.ChatMessage.KIND_JOIN, room=room)
    def close(self):
        self.requests.put(None)
    def wait_for(self, pred, seconds=5):
        end = time.time() + seconds
        while time.time() < end:
            if any(pred(m) for m in list(self.received)):
                return True
            time.sleep(0.01)
        return False

# health follows readiness (polled every 250 ms): SERVING once the service is ready
health = health_pb2_grpc.HealthStub(channel)
serving, end = False, time.time() + 3
while not serving and time.time() < end:
    serving = health.Check(health_pb2.HealthCheckRequest(service="")).status == health_pb2.HealthCheckResponse.SERVING
    time.sleep(0.05)
check(serving, "health SERVING")

# two users chat in a room
alice = Client("alice")
alice.join()
check(alice.wait_for(lambda m: m.kind == pb.ChatMessage.KIND_JOIN and m.user_id == "alice"), "alice joined")
bob = Client("bob")
bob.join()
check(alice.wait_for(lambda m: m.kind == pb.ChatMessage.KIND_JOIN and m.user_id == "bob"), "alice sees bob join")
t0 = int(time.time() * 1000)
alice.send(content="hello bob")
check(bob.wait_for(lambda m: m.kind == pb.ChatMessage.KIND_MESSAGE and m.content == "hello bob"), "bob gets the message")
check(alice.wait_for(lambda m: m.content == "hello bob"), "the sender gets its own message back")
got = [m for m in bob.received if m.content == "hello bob"][0]
check(got.user_id == "alice" and got.room == "general" and got.id > 0, f"server-assigned fields: {got}")
check(abs(got.timestamp - t0) < 5000, f"server timestamp {got.timestamp} vs {t0}")
ids = [m.id for m in bob.received if m.room == "general"]
check(ids == sorted(ids) and len(set(ids)) == len(ids), f"ids increase: {ids}")
# a clean close by the client ends the stream OK and leaves the room
bob.close()
check(bob.done.wait(5) and bob.error is None, f"bob's stream ends cleanly: {bob.error}")
check(alice.wait_for(lambda m: m.kind == pb.ChatMessage.KIND_LEAVE and m.user_id == "bob"), "alice sees bob leave")

# input checks: each ends the offending stream with a precise code and reason
def refused(messages, code, reason_part):
    c = Client("carol")
    for m in messages:
        c.requests.put(m)
    if not c.done.wait(5):
        failures.append(f"stream not ended for {reason_part}")
        c.call.cancel()
        return
    check(c.error is not None and c.error.code() == code and reason_part in c.error.details(),
          f"{reason_part}: got {c.error and (c.error.code(), c.error.details())}")
J = pb.ChatMessage.KIND_JOIN
refused([pb.ChatMessage(user_id="carol", room="general", kind=J), pb.ChatMessage(user_id="carol", room="general", content="")],
        grpc.StatusCode.INVALID_ARGUMENT, "content is empty")
refused([pb.ChatMessage(user_id="carol", room="general", kind=J), pb.ChatMessage(user_id="carol", room="general", content="x" * 5000)],
        grpc.StatusCode.INVALID_ARGUMENT, "longer than")
refused([pb.ChatMessage(user_id="carol", room="nowhere", kind=J)], grpc.StatusCode.INVALID_ARGUMENT, "unknown room")
refused([pb.ChatMessage(user_id="", room="general", kind=J)], grpc.StatusCode.INVALID_ARGUMENT, "user_id is required")
refused([pb.ChatMessage(user_id="carol", room="general", content="hi")], grpc.StatusCode.FAILED_PRECONDITION, "join room")
refused([pb.ChatMessage(user_id="carol", room="general", kind=J), pb.ChatMessage(user_id="mallory", room="general", content="x")],
        grpc.StatusCode.INVALID_ARGUMENT, "user_id changed")
check(alice.error is None and not alice.done.is_set(), "alice's stream is unaffected by the others' errors")

# cancellation: the server lets go of the stream. First let the streams ended above finish on the
# server (only alice's stays open), so the count is stable.
end = time.time() + 10
while time.time() < end and metric("chat_streams") != 1:
    time.sleep(0.05)
before = metric("chat_streams")
check(before == 1, f"only alice's stream open before the cancellation test ({before})")
dave = Client("dave"); dave.join()
check(dave.wait_for(lambda m: m.user_id == "dave"), "dave joined")
check(metric("chat_streams") == before + 1, f"stream counted ({metric('chat_streams')} vs {before} + 1)")
dave.call.cancel()
dave.done.wait(5)
end = time.time() + 5
while time.time() < end and metric("chat_streams") != before:
    time.sleep(0.05)
check(metric("chat_streams") == before, f"cancelled stream released ({metric('chat_streams')} vs {before})")
check(alice.wait_for(lambda m: m.kind == pb.ChatMessage.KIND_LEAVE and m.user_id == "dave"), "a cancelled member leaves the room")

# deadline: the call ends with DEADLINE_EXCEEDED when its time is up
eve = Client("eve", timeout=0.5); eve.join()
check(eve.done.wait(5) and eve.error is not None and eve.error.code() == grpc.StatusCode.DEADLINE_EXCEEDED,
      f"deadline: {eve.error and eve.error.code()}")

# slow consumer: one member reads nothing while 3000 messages of 1 KiB go by. The room is not
# stalled (a reading member gets all of them) and the slow one is told how many it lost.
sender, reader, slow = Client("sender"), Client("reader"), Client("slowpoke")
reader.join("random")
check(reader.wait_for(lambda m: m.user_id == "reader"), "reader joined")
for c in (sender, slow):
    c.join("random")
check(reader.wait_for(lambda m: m.user_id == "slowpoke" and m.kind == J), "slow member joined")
# The slow member is a client that stops reading: its own channel with a fixed 64 KiB window (no BDP
# growth), whose responses nobody iterates until the flood is over.
slow.call.cancel(); slow.done.wait(5)
slow_channel = grpc.insecure_channel(target, options=[("grpc.http2.bdp_probe", 0), ("grpc.http2.lookahead_bytes", 65536)])
slow_requests = queue.Queue()
def slow_gen():
    while True:
        m = slow_requests.get()
        if m is None:
            return
        yield m
slow_call = rpc.ChatServiceStub(slow_channel).BidirectionalChat(slow_gen())
slow_requests.put(pb.ChatMessage(user_id="slowpoke", room="random", kind=J))
time.sleep(0.3)
payload = "y" * 1024
# The sender keeps at most 200 messages ahead of the reading member (its queue holds 256), so that a
# reader slowed by a busy machine is not mistaken for a slow consumer; the slow one falls 3000 behind.
for i in range(3000):
    sender.send(room="random", content=f"{i}:{payload}")
    if i % 200 == 199:
        reader.wait_for(lambda m, i=i: m.content.startswith(f"{i}:"), 30)
check(reader.wait_for(lambda m: m.content.startswith("2999:"), 30), "the reading member got the last message")
got_all = sum(1 for m in reader.received if m.kind == pb.ChatMessage.KIND_MESSAGE and m.room == "random")
check(got_all == 3000, f"the reading member got {got_all} of 3000")
check(metric("chat_messages_dropped_total") > 0, "drops counted for the slow member")
slow_seen, notices = 0, []
slow_requests.put(None)
try:
    for m in slow_call:
        if m.kind == pb.ChatMessage.KIND_NOTICE:
            notices.append(m.content)
        elif m.kind == pb.ChatMessage.KIND_MESSAGE:
            slow_seen += 1
except grpc.RpcError as e:
    failures.append(f"slow stream ended with {e.code()}")
check(notices and "messages dropped" in notices[0], f"slow member told about drops: {notices[:2]}")
check(slow_seen < 3000, f"slow member saw {slow_seen} (bounded queue)")

# Server reflection: the service list names the chat service, health and reflection itself, and the
# descriptor for the chat service's symbol describes BidirectionalChat as a bidirectional stream.
refl = reflection_pb2_grpc.ServerReflectionStub(channel)
def reflect(**req):
    return next(iter(refl.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(**req)]), timeout=5)))
names = {s.name for s in reflect(list_services="").list_services_response.service}
check({"svckit.chat.v1.ChatService", "grpc.health.v1.Health"} <= names, f"reflection lists the services: {names}")
files = reflect(file_containing_symbol="svckit.chat.v1.ChatService").file_descriptor_response.file_descriptor_proto
methods = {}
for raw in files:
    fd = descriptor_pb2.FileDescriptorProto.FromString(raw)
    for svc in fd.service:
        for m in svc.method:
            methods[f"{fd.package}.{svc.name}/{m.name}"] = (m.client_streaming, m.server_streaming, m.input_type)
check(methods.get("svckit.chat.v1.ChatService/BidirectionalChat") == (True, True, ".svckit.chat.v1.ChatMessage"),
      f"reflection describes BidirectionalChat: {methods}")
unknown = reflect(file_containing_symbol="svckit.chat.v1.NoSuchService")
check(unknown.WhichOneof("message_response") == "error_response" and unknown.error_response.error_code == 5,
      f"reflection: unknown symbol is NOT_FOUND: {unknown}")

for c in (alice, sender, reader):
    c.close()
if failures:
    print("chat test failures:\n  " + "\n  ".join(failures))
    sys.exit(1)
print(f"chat test: ok (slow member saw {slow_seen} of 3000 with notice {notices[0]!r})")
