#!/usr/bin/python3
# A terminal client for chat-svc: joins a room, prints what the room says, sends each line you type.
# usage: scripts/chat_client.py [TARGET (127.0.0.1:9090)] [USER ($USER)] [ROOM (general)]
# Needs Debian's python3-grpcio, protoc and grpc_python_plugin (make test installs them).
import os, subprocess, sys, tempfile, threading
here = os.path.dirname(os.path.abspath(__file__))
target = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:9090"
user = sys.argv[2] if len(sys.argv) > 2 else os.environ.get("USER", "me")
room = sys.argv[3] if len(sys.argv) > 3 else "general"
stubs = tempfile.mkdtemp(prefix="svckit-chat-")
subprocess.run(["protoc", "-I", os.path.join(here, "..", "api"), f"--python_out={stubs}", f"--grpc_out={stubs}",
                "--plugin=protoc-gen-grpc=" + subprocess.check_output(["sh", "-c", "command -v grpc_python_plugin"]).decode().strip(),
                os.path.join(here, "..", "api", "chat", "v1", "chat.proto")], check=True)
sys.path.insert(0, stubs)
import grpc
from chat.v1 import chat_pb2 as pb, chat_pb2_grpc as rpc

def requests():
    yield pb.ChatMessage(user_id=user, room=room, kind=pb.ChatMessage.KIND_JOIN)
    for line in sys.stdin:
        if line.strip():
            yield pb.ChatMessage(user_id=user, room=room, content=line.rstrip("\n"))

call = rpc.ChatServiceStub(grpc.insecure_channel(target)).BidirectionalChat(requests())
try:
    for m in call:
        kind = pb.ChatMessage.Kind.Name(m.kind).replace("KIND_", "").lower()
        print(f"[{m.room} #{m.id}] {m.user_id or 'server'} ({kind}): {m.content}", flush=True)
except grpc.RpcError as e:
    print(f"stream ended: {e.code().name}: {e.details()}", file=sys.stderr)
except KeyboardInterrupt:
    pass
