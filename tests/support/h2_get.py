"""One HTTP/2 GET over TLS with the `h2` library (python-hyper), for the
tests that need a client able to send header blocks larger than 64 KiB
(curl's nghttp2 refuses to, and Rust's `http` crate cannot even build a
URI over 65,534 bytes). Certificate checks are off: the adapter under test
serves a self-signed certificate.

    python3 h2_get.py HOST PORT PATH_FILE

PATH_FILE holds the request path (`/apis/...?...`). Prints one JSON line:
{"status": 414, "body": "...", "reset": null} or {"reset": <error code>}.
"""
import json
import socket
import ssl
import sys

import h2.config
import h2.connection
import h2.events

host, port, path_file = sys.argv[1], int(sys.argv[2]), sys.argv[3]
with open(path_file) as f:
    path = f.read().strip()

ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
ctx.set_alpn_protocols(["h2"])
sock = ctx.wrap_socket(socket.create_connection((host, port), timeout=20), server_hostname=host)
assert sock.selected_alpn_protocol() == "h2", sock.selected_alpn_protocol()

conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
conn.initiate_connection()
sock.sendall(conn.data_to_send())
conn.send_headers(
    1,
    [(":method", "GET"), (":scheme", "https"), (":authority", f"{host}:{port}"), (":path", path)],
    end_stream=True,
)
sock.sendall(conn.data_to_send())

result = {"status": None, "body": "", "reset": None}
body = b""
done = False
while not done:
    data = sock.recv(65536)
    if not data:
        break
    for event in conn.receive_data(data):
        if isinstance(event, h2.events.ResponseReceived):
            result["status"] = int(dict(event.headers)[b":status"])
        elif isinstance(event, h2.events.DataReceived):
            body += event.data
            conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
        elif isinstance(event, h2.events.StreamEnded):
            done = True
        elif isinstance(event, h2.events.StreamReset):
            result["reset"] = int(event.error_code)
            done = True
    sock.sendall(conn.data_to_send())
result["body"] = body.decode("utf-8", "replace")
print(json.dumps(result))
