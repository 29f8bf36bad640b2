"""A minimal Standard MIDI File (format 1) writer: notes, programs, tempo, controllers.

Only what the corpus composer needs. Times are in ticks (``ticks_per_beat`` per quarter note).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Note:
    """One note: start and length in ticks, MIDI channel 0-15, pitch and velocity 1-127."""

    start: int
    length: int
    channel: int
    pitch: int
    velocity: int


@dataclass
class Track:
    """One MIDI track: its notes plus raw channel/meta events ``(tick, bytes)``."""

    notes: list[Note] = field(default_factory=list)
    events: list[tuple[int, bytes]] = field(default_factory=list)

    def program(self, channel: int, program: int, tick: int = 0) -> None:
        self.events.append((tick, bytes([0xC0 | channel, program & 0x7F])))

    def control(self, channel: int, controller: int, value: int, tick: int = 0) -> None:
        self.events.append((tick, bytes([0xB0 | channel, controller & 0x7F, max(0, min(127, value))])))

    def tempo(self, bpm: float, tick: int = 0) -> None:
        self.events.append((tick, b"\xff\x51\x03" + int(round(60_000_000 / bpm)).to_bytes(3, "big")))

    def meter(self, beats: int, tick: int = 0) -> None:
        self.events.append((tick, bytes([0xFF, 0x58, 0x04, beats, 2, 24, 8])))


def _vlq(value: int) -> bytes:
    """Variable-length quantity, as SMF delta times are written."""
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))


def _track_chunk(track: Track) -> bytes:
    # (tick, order, bytes): at equal ticks meta/program/controller first, then note-offs, then note-ons
    timed = [(t, 0, e) for t, e in track.events]
    for n in track.notes:
        pitch, vel = max(0, min(127, n.pitch)), max(1, min(127, n.velocity))
        timed.append((n.start, 2, bytes([0x90 | n.channel, pitch, vel])))
        timed.append((n.start + max(1, n.length), 1, bytes([0x80 | n.channel, pitch, 0])))
    timed.sort(key=lambda item: (item[0], item[1], item[2]))
    body, now = bytearray(), 0
    for tick, _, event in timed:
        body += _vlq(tick - now) + event
        now = tick
    body += b"\x00\xff\x2f\x00"  # end of track
    return b"MTrk" + struct.pack(">I", len(body)) + bytes(body)


def write_smf(tracks: list[Track], *, ticks_per_beat: int = 480) -> bytes:
    """Serialise ``tracks`` as a format-1 Standard MIDI File and return its bytes."""
    header = b"MThd" + struct.pack(">IHHH", 6, 1, len(tracks), ticks_per_beat)
    return header + b"".join(_track_chunk(t) for t in tracks)
