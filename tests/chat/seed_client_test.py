# Two clients written against the seed's bare contract (tests/chat/seed/chat.proto: user_id, content,
# timestamp; no room, no JOIN) chat through chat-svc: each message reaches both, in the configured
# default room, with a server timestamp. usage: seed_client_test.py STUBS_DIR GRPC_TARGET
import queue, sys, threading, time
sys.path.insert(0, sys.argv[1])
import grpc
import chat_pb2 as pb, chat_pb2_grpc as rpc

stub = rpc.ChatServiceStub(grpc.insecure_channel(sys.argv[2]))

class Client:
    def __init__(self, user):
        self.user, self.out, self.got, self.error = user, queue.Queue(), [], None
        def gen():
            while True:
                m = self.out.get()
                if m is None:
                    return
                yield m
        self.call = stub.BidirectionalChat(gen(), timeout=20)
        self.t = threading.Thread(target=self.read, daemon=True)
        self.t.start()
    def read(self):
        try:
            for m in self.call:
                self.got.append(m)
        except grpc.RpcError as e:
            self.error = e
    def say(self, text):
        self.out.put(pb.ChatMessage(user_id=self.user, content=text))
    def wait_for(self, pred, seconds=10):
        end = time.time() + seconds
        while time.time() < end:
            if any(pred(m) for m in self.got):
                return True
            if self.error is not None:
                return False
            time.sleep(0.02)
        return False

ann, bob = Client("ann"), Client("bob")
ann.say("hello from ann")  # joins the default room with its first message
assert ann.wait_for(lambda m: m.content == "hello from ann"), ("ann's own message never came back", ann.error)
bob.say("hi ann")
for c in (ann, bob):
    assert c.wait_for(lambda m: m.user_id == "bob" and m.content == "hi ann"), (c.user, "missed bob's message", c.error)
ann.say("second")
assert bob.wait_for(lambda m: m.user_id == "ann" and m.content == "second"), ("bob missed ann's", bob.error)
mine = [m for m in ann.got if m.content == "second"][0]
assert mine.timestamp > 1_600_000_000_000, ("no server timestamp", mine.timestamp)
for c in (ann, bob):
    c.out.put(None)
    c.t.join(10)
    assert c.error is None, (c.user, c.error)
print("seed contract: two bare clients chatted in the default room")
