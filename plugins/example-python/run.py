#!/usr/bin/env python3
"""example-python: a clawft pipeline plugin in Python 3 with only the standard library.

audio/wav in, audio/wav out: changes the volume by `gain_db` decibels, clipping-safe (samples
are limited to the 16-bit range). Streams: samples are processed as frames arrive. Written from
docs/plugin-protocol.md alone, to show the protocol is language-agnostic.
"""
import array
import json
import struct
import sys

PROTOCOL_MAJOR = "1"
inp = sys.stdin.buffer
out = sys.stdout.buffer


class PluginError(Exception):
    def __init__(self, type_, message, fatal=True):
        super().__init__(message)
        self.type, self.message, self.fatal = type_, message, fatal


def read_exact(n):
    data = b""
    while len(data) < n:
        chunk = inp.read(n - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def read_frame(max_frame):
    """The next payload, b"" for the end frame, None when stdin ends (the host aborted)."""
    head = read_exact(4)
    if head is None:
        return None
    (n,) = struct.unpack("<I", head)
    if n > max_frame:
        raise PluginError("INVALID_INPUT", f"frame of {n} bytes exceeds max_frame {max_frame}")
    return read_exact(n) if n else b""


def write_frame(payload):
    out.write(struct.pack("<I", len(payload)))
    out.write(payload)


class Gain:
    """Parses the WAV header, then scales 16-bit samples; chunks may be cut anywhere."""

    def __init__(self, factor):
        self.factor = factor
        self.buf = b""
        self.in_data = False
        self.bits = None

    def push(self, chunk):
        self.buf += chunk
        result = b""
        if not self.in_data:
            result += self._header()
            if not self.in_data:
                return result
        usable = len(self.buf) - len(self.buf) % 2
        samples = array.array("h")
        samples.frombytes(self.buf[:usable])
        if sys.byteorder == "big":
            samples.byteswap()
        f = self.factor
        for i, s in enumerate(samples):
            v = int(round(s * f))
            samples[i] = 32767 if v > 32767 else (-32768 if v < -32768 else v)
        if sys.byteorder == "big":
            samples.byteswap()
        self.buf = self.buf[usable:]
        return result + samples.tobytes()

    def _header(self):
        # Pass the header through unchanged; stop at the start of the data chunk.
        b = self.buf
        if len(b) < 12:
            return b""
        if b[0:4] != b"RIFF" or b[8:12] != b"WAVE":
            raise PluginError("INVALID_INPUT", "input is not a RIFF/WAVE stream")
        at = 12
        while len(b) >= at + 8:
            cid, size = b[at:at + 4], struct.unpack("<I", b[at + 4:at + 8])[0]
            if cid == b"data":
                if self.bits != 16:
                    raise PluginError("INVALID_INPUT", f"expected 16-bit PCM, got {self.bits}-bit samples")
                self.in_data = True
                header, self.buf = b[:at + 8], b[at + 8:]
                return header
            if len(b) < at + 8 + size + (size & 1):
                return b""
            if cid == b"fmt ":
                fmt, _, _, _, _, bits = struct.unpack("<HHIIHH", b[at + 8:at + 24])
                if fmt != 1:
                    raise PluginError("INVALID_INPUT", f"WAV format {fmt}; expected PCM (1)")
                self.bits = bits
            at += 8 + size + (size & 1)
        return b""


def main():
    max_frame = 1 << 20
    first = read_frame(max_frame)
    if first is None:
        return 1
    try:
        hs = json.loads(first.decode("utf-8"))
        if str(hs.get("protocol", "")).split(".")[0] != PROTOCOL_MAJOR:
            raise PluginError("UNSUPPORTED_PROTOCOL", f"protocol {hs.get('protocol')} (this plugin implements 1.x)")
        if hs.get("input_type") != "audio/wav" or hs.get("output_type") != "audio/wav":
            raise PluginError("UNSUPPORTED_TYPE", "example-python reads and writes audio/wav")
        max_frame = int(hs.get("max_frame") or max_frame)
        gain_db = hs.get("config", {}).get("gain_db", 0.0)
        if not isinstance(gain_db, (int, float)) or isinstance(gain_db, bool):
            raise PluginError("INVALID_CONFIG", f"gain_db must be a number, got {gain_db!r}")
        gain = Gain(10 ** (gain_db / 20))
        while True:
            frame = read_frame(max_frame)
            if frame is None:
                raise PluginError("INVALID_INPUT", "stdin ended without an end frame")
            if not frame:
                break
            result = gain.push(frame)
            for at in range(0, len(result), max_frame):
                write_frame(result[at:at + max_frame])
            out.flush()
        if not gain.in_data:
            raise PluginError("INVALID_INPUT", "input ended before the WAV data chunk")
        write_frame(b"")
        out.flush()
        return 0
    except PluginError as e:
        write_frame(b"")
        write_frame(json.dumps({"type": e.type, "message": e.message, "fatal": e.fatal}).encode())
        out.flush()
        return 1


if __name__ == "__main__":
    sys.exit(main())
