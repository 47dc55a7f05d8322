"""Writers of small event files in the datasets' real on-disk formats."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np


def nmnist_bytes(events) -> bytes:
    """(x, y, p, t) events in N-MNIST's 40-bit format (t < 2^23 us)."""
    out = bytearray()
    for x, y, p, t in events:
        out += bytes([x, y, (p << 7) | ((t >> 16) & 127), (t >> 8) & 255, t & 255])
    return bytes(out)


def _aedat4_header(width: int, height: int) -> bytes:
    import flatbuffers

    desc = ('<dv version="2.0"><node name="outInfo" path="/mainloop/Recorder/outInfo/">'
            '<node name="0" path="/mainloop/Recorder/outInfo/0/">'
            '<attr key="typeIdentifier" type="string">EVTS</attr>'
            '<node name="info" path="/mainloop/Recorder/outInfo/0/info/">'
            f'<attr key="sizeX" type="int">{width}</attr><attr key="sizeY" type="int">{height}</attr>'
            '</node></node></node></dv>')
    b = flatbuffers.Builder(256)
    s = b.CreateString(desc)
    b.StartObject(3)  # IOHeader: compression (None), file data position (-1: none), description
    b.PrependInt32Slot(0, 0, 0)
    b.PrependInt64Slot(1, -1, 0)
    b.PrependUOffsetTRelativeSlot(2, s, 0)
    b.Finish(b.EndObject(), file_identifier=b"IOHE")
    header = bytes(b.Output())
    return b"#!AER-DAT4.0\r\n" + struct.pack("<I", len(header)) + header


def _aedat4_packet(t, x, y, on) -> bytes:
    import flatbuffers

    b = flatbuffers.Builder(64 + 16 * len(t))
    b.StartVector(16, len(t), 8)  # struct Event {t: int64; x: int16; y: int16; on: bool} = 16 bytes
    for i in range(len(t) - 1, -1, -1):
        b.Prep(8, 16)
        b.Pad(3)
        b.PrependBool(bool(on[i]))
        b.PrependInt16(int(y[i]))
        b.PrependInt16(int(x[i]))
        b.PrependInt64(int(t[i]))
    vec = b.EndVector()
    b.StartObject(1)
    b.PrependUOffsetTRelativeSlot(0, vec, 0)
    b.FinishSizePrefixed(b.EndObject(), file_identifier=b"EVTS")
    return bytes(b.Output())


def write_aedat4(path: Path, t, x, y, on, size=(128, 128), packets: int = 2) -> Path:
    """An uncompressed AEDAT4 file with one polarity-event stream split into ``packets``."""
    out = [_aedat4_header(*size)]
    for chunk in np.array_split(np.arange(len(t)), packets):
        pkt = _aedat4_packet(*(np.asarray(a)[chunk] for a in (t, x, y, on)))
        out.append(struct.pack("<II", 0, len(pkt)) + pkt)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(out))
    return path


def write_dvsgesture(root: Path, users: dict[str, tuple[str, ...]], rng: np.random.Generator,
                     events: int = 300) -> None:
    """A DVS Gesture folder as tonic reads it: per split and user, one ``<label>.npy`` array of
    (x, y, polarity, t) rows on the 128x128 sensor for each of the 11 gestures."""
    for split, names in users.items():
        for user in names:
            folder = root / split / user
            folder.mkdir(parents=True)
            for label in range(11):
                ev = np.column_stack([rng.integers(0, 128, events), rng.integers(0, 128, events),
                                      rng.integers(0, 2, events), np.sort(rng.uniform(0, 500, events))])
                np.save(folder / f"{label}.npy", ev)
