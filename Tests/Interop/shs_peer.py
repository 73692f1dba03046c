#!/usr/bin/env python3
"""An independent Secret Handshake + box-stream peer, for MeetKit's interoperability tests.

Built on PyPI `secret-handshake` 0.1.0.dev3 (with PyNaCl), which shares no code with MeetKit.
Tests/Interop/setup.sh installs it into `.venv-interop`; run this file with that venv's python.

    shs_peer.py client --port PORT [--host 127.0.0.1] [options]
    shs_peer.py server [--port 0]  [--host 127.0.0.1] [options]

Keys, as hex, on the command line or, with `--stdin-json`, as one JSON object on standard
input (so that seeds stay out of the process list):

    network_key   the 32-byte SHS app key (MeetKit: the group's network key)   (required)
    seed          this peer's 32-byte Ed25519 seed                    (default: a fresh one)
    server_key    client only: the server's 32-byte Ed25519 public key         (required)
    send          bytes to send as one box-stream message after the handshake  (optional)

The server accepts exactly one connection (the library's SHSServer holds one handshake state,
so a fresh one is made for it) and exits when it ends. Both sides send `send` once the
handshake is done and `--reply-after` messages have arrived (and with `--goodbye-after-send`
say goodbye at once), then read until the peer says goodbye, closes, or `--timeout` seconds
have passed since start; then they send their own goodbye (if not yet sent) and close the
socket themselves (the library's close() raises AttributeError).

Everything that happens is printed on stdout as one JSON object per line, flushed at once:

    {"event": "listening", "port": N}                     server, before accepting
    {"event": "handshake", "ok": true, "remote": HEX}     remote = the peer's Ed25519 key
    {"event": "handshake", "ok": false, "error": TEXT}
    {"event": "sent", "hex": HEX}
    {"event": "message", "hex": HEX, "length": N, "tag": N, "name": TEXT[, "reason": TEXT]}
                                      a MeetKit wire message: u32 length (big-endian) ‖ tag ‖ …
    {"event": "incomplete", "hex": HEX}                   bytes left that make no whole message
    {"event": "goodbye"} | {"event": "eof"} | {"event": "timeout"} | {"event": "error", "error": TEXT}
    {"event": "done", "bytes_received": N}

Exit status: 0 when the handshake succeeded, 4 when it failed, 3 on a timeout, 5 when the
connection could not be made, 2 on bad usage.
"""

import argparse
import asyncio
import json
import struct
import sys

from nacl.signing import SigningKey
from secret_handshake.network import SHSClient, SHSServer

WIRE_TAGS = {1: "have", 2: "entries", 3: "caught-up", 4: "ping", 5: "pong", 6: "join", 7: "admitted", 8: "refused"}
TAG_REFUSED = 8


def emit(event, **fields):
    print(json.dumps({"event": event, **fields}), flush=True)


def usage_error(message):
    print(f"shs_peer: {message}", file=sys.stderr)
    sys.exit(2)


def key_bytes(name, text, length=32):
    try:
        value = bytes.fromhex(text)
    except ValueError:
        usage_error(f"{name} is not hex")
    if len(value) != length:
        usage_error(f"{name} must be {length} bytes, not {len(value)}")
    return value


class CountingReader:
    """Wraps an asyncio StreamReader to tell a box-stream goodbye from a plain end of stream:
    the library's UnboxStream.read() returns None for both."""

    def __init__(self, reader):
        self.reader = reader
        self.received = 0
        self.last_read_complete = True

    async def readexactly(self, n):
        try:
            data = await self.reader.readexactly(n)
        except asyncio.IncompleteReadError:
            self.last_read_complete = False
            raise
        self.received += len(data)
        self.last_read_complete = True
        return data


class WireFramer:
    """Splits box-stream plaintext into MeetKit wire messages (u32 big-endian length ‖ message);
    box-stream frames and messages need not line up."""

    def __init__(self):
        self.buffer = b""

    def feed(self, data):
        self.buffer += data
        messages = []
        while len(self.buffer) >= 4:
            (length,) = struct.unpack(">I", self.buffer[:4])
            if len(self.buffer) < 4 + length:
                break
            messages.append(self.buffer[: 4 + length])
            self.buffer = self.buffer[4 + length :]
        return messages


async def hang_up(writer):
    writer.close()
    try:
        await writer.wait_closed()
    except Exception:
        pass


def describe(frame):
    body = frame[4:]
    fields = {"hex": frame.hex(), "length": len(body)}
    if body:
        fields["tag"] = body[0]
        fields["name"] = WIRE_TAGS.get(body[0], "unknown")
        if body[0] == TAG_REFUSED:
            fields["reason"] = body[1:].decode("utf-8", errors="replace")
    return fields


async def converse(unbox, box, writer, counting, options):
    """After the handshake: send, read, say goodbye."""
    framer = WireFramer()
    received = 0
    sent = False
    said_goodbye = False

    async def goodbye():
        nonlocal said_goodbye
        if not said_goodbye:
            said_goodbye = True
            box.close()  # writes the goodbye header only (BoxStream.close)
            await writer.drain()

    async def send_if_due():
        nonlocal sent
        if options.send is not None and not sent and received >= options.reply_after:
            sent = True
            box.write(options.send)
            await writer.drain()
            emit("sent", hex=options.send.hex())
            if options.goodbye_after_send:
                await goodbye()

    try:
        await send_if_due()
        while True:
            data = await unbox.read()
            if data is None:
                if framer.buffer:
                    emit("incomplete", hex=framer.buffer.hex())
                emit("goodbye" if counting.last_read_complete else "eof")
                break
            for frame in framer.feed(data):
                received += 1
                emit("message", **describe(frame))
            await send_if_due()
    except asyncio.IncompleteReadError:
        emit("eof")
    except (ConnectionError, OSError) as error:
        emit("error", error=f"{type(error).__name__}: {error}")
    except Exception as error:  # a box that does not open, say
        emit("error", error=f"{type(error).__name__}: {error}")
    finally:
        try:
            await goodbye()
        except Exception:
            pass
        await hang_up(writer)
    emit("done", bytes_received=counting.received)


async def run_client(options):
    identity = SigningKey(options.seed)
    client = SHSClient(
        options.host, options.port, identity, options.server_key, application_key=options.network_key)
    try:
        await client.open()
    except ConnectionRefusedError:
        raise  # no one listens: not a handshake failure (exit 5)
    except Exception as error:  # IncompleteReadError when the server hangs up, or a bad reply
        emit("handshake", ok=False, error=f"{type(error).__name__}: {error}")
        if getattr(client, "writer", None) is not None:
            await hang_up(client.writer)
        return 4
    emit("handshake", ok=True, remote=options.server_key.hex())
    counting = CountingReader(client.read_stream.reader)
    client.read_stream.reader = counting
    await converse(client.read_stream, client.write_stream, client.writer, counting, options)
    return 0


async def run_server(options):
    identity = SigningKey(options.seed)
    finished = asyncio.get_running_loop().create_future()

    async def handle(reader, writer):
        # One SHSServer per connection: one object holds one handshake's state.
        shs = SHSServer(options.host, options.port, identity, application_key=options.network_key)
        counting = CountingReader(reader)
        status = 0
        try:
            try:
                await shs.handle_connection(counting, writer)
            except Exception as error:
                emit("handshake", ok=False, error=f"{type(error).__name__}: {error}")
                await hang_up(writer)
                status = 4
                return
            connection = shs.connections[-1]
            emit("handshake", ok=True, remote=bytes(shs.crypto.remote_pub_key).hex())
            await converse(connection.read_stream, connection.write_stream, writer, counting, options)
        finally:
            if not finished.done():
                finished.set_result(status)

    server = await asyncio.start_server(handle, options.host, options.port)
    port = server.sockets[0].getsockname()[1]
    emit("listening", port=port)
    try:
        return await finished
    finally:
        server.close()


def parse(argv):
    parser = argparse.ArgumentParser(description="Secret Handshake + box-stream peer for interop tests.")
    parser.add_argument("role", choices=["client", "server"])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--network-key")
    parser.add_argument("--seed")
    parser.add_argument("--server-key")
    parser.add_argument("--send")
    parser.add_argument("--stdin-json", action="store_true", help="read the keys as JSON from stdin")
    parser.add_argument("--reply-after", type=int, default=0, help="send after this many messages arrived")
    parser.add_argument("--goodbye-after-send", action="store_true", help="say goodbye right after sending")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds until the peer gives up")
    options = parser.parse_args(argv)

    fields = {"network_key": options.network_key, "seed": options.seed, "server_key": options.server_key,
              "send": options.send}
    if options.stdin_json:
        given = json.loads(sys.stdin.read() or "{}")
        for name in fields:
            if given.get(name) is not None:
                fields[name] = given[name]
    if fields["network_key"] is None:
        parser.error("the network key is required")
    options.network_key = key_bytes("network_key", fields["network_key"])
    options.seed = key_bytes("seed", fields["seed"]) if fields["seed"] else bytes(SigningKey.generate())
    if options.role == "client":
        if fields["server_key"] is None or not options.port:
            parser.error("a client needs --port and the server key")
        options.server_key = key_bytes("server_key", fields["server_key"])
    try:
        options.send = bytes.fromhex(fields["send"]) if fields["send"] else None
    except ValueError:
        parser.error("send is not hex")
    return options


def main(argv):
    if not __debug__:
        usage_error("run without -O: the library checks the server's reply with a bare assert")
    options = parse(argv)
    run = run_client if options.role == "client" else run_server
    try:
        return asyncio.run(asyncio.wait_for(run(options), options.timeout))
    except asyncio.TimeoutError:
        emit("timeout")
        return 3
    except OSError as error:
        emit("error", error=f"{type(error).__name__}: {error}")
        return 5


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
