"""Frames in memory and their stored encoding.

A segment's frames form chains: a keyframe holds the whole (redacted) screen; each delta
holds only the tiles that changed since the frame before it, packed into one small image.
Deltas make a stored frame cost a few kilobytes when a person types or clicks, which is
what keeps an hour of recording small. Everything is lossless (WebP), so text stays exactly as
legible as it was on screen; see bench/frame_codec.py for the measurements behind the choice.
"""

from __future__ import annotations

import io
import json
import struct
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image, PngImagePlugin, WebPImagePlugin

# Imported by name so that saving or opening a frame finds its format at once: Pillow
# otherwise imports each of its ~40 format plugins on the first WebP (4 MB resident).
_FORMATS = (PngImagePlugin, WebPImagePlugin)

MAGIC = b"PXF1"
TILE = 32
# A delta that would cover more than this share of the screen is stored as a keyframe.
KEYFRAME_CHANGED_SHARE = 0.4
KEYFRAME_EVERY = 30  # frames; bounds the work of showing any one frame in review (about 1%
# more bytes than 60; bench/review_speed.py)
DEFAULT_CODEC = "webp"


@dataclass
class Frame:
    """Screen pixels as an (h, w, 3) uint8 RGB array, with the screen's origin."""

    pixels: np.ndarray
    left: int = 0
    top: int = 0

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])


def bgra_to_rgb(raw: bytes | bytearray, width: int, height: int) -> np.ndarray:
    """The RGB pixels of a BGRA screenshot. Copied one channel plane at a time: a copy of the
    reversed channel view walks three strides per pixel and takes four times as long (7 ms
    against under 2 ms for 1080p), for every frame grabbed."""
    bgra = np.frombuffer(raw, dtype=np.uint8).reshape(height, width, 4)
    rgb = np.empty((height, width, 3), dtype=np.uint8)
    rgb[..., 0] = bgra[..., 2]
    rgb[..., 1] = bgra[..., 1]
    rgb[..., 2] = bgra[..., 0]
    return rgb


WEBP_MAX_SIDE = 16383


def _encode_image(pixels: np.ndarray, codec: str, *, key: bool) -> bytes:
    """Lossless always. bench/frame_codec.py measured 53 KB vs PNG's 250 KB per 1080p
    keyframe and 3.6 KB per typing delta at under 1 ms.

    Keyframes use WebP's method 0 at full effort: from method 1 on, the encoder builds a hash
    chain and more back-reference buffers over the whole screen. Method 4 at quality 50 (the
    setting before) took 57 MB at once for a 1080p desktop (the recorder's largest peak of
    memory) instead of 31 MB, and 1.5 times as long, for keyframes only 10% smaller."""
    out = io.BytesIO()
    image = Image.fromarray(pixels, "RGB")
    if codec == "webp" and max(image.size) <= WEBP_MAX_SIDE:
        if key:
            image.save(out, "WEBP", lossless=True, quality=100, method=0)
        else:
            image.save(out, "WEBP", lossless=True, quality=20, method=1)
    elif codec in ("png", "webp"):
        image.save(out, "PNG", compress_level=1)
    else:
        raise ValueError(f"unknown frame codec {codec!r}")
    return out.getvalue()


def _decode_image(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as image:
        rgb = image if image.mode == "RGB" else image.convert("RGB")
        return np.array(rgb)  # writable: deltas are pasted onto decoded frames in place


def _pack(header: dict[str, object], image: bytes) -> bytes:
    head = json.dumps(header, separators=(",", ":")).encode()
    return MAGIC + struct.pack(">I", len(head)) + head + image


def _unpack(payload: bytes) -> tuple[dict[str, object], bytes]:
    if payload[:4] != MAGIC:
        raise ValueError("not a Praxis frame payload")
    (size,) = struct.unpack(">I", payload[4:8])
    return json.loads(payload[8 : 8 + size]), payload[8 + size :]


def changed_tiles(previous: np.ndarray, current: np.ndarray, tile: int = TILE) -> np.ndarray:
    """Boolean grid (rows, cols): which tile x tile squares differ between two frames.

    Compares one band of `tile` rows at a time on whole byte rows: the comparison holds a band
    of booleans (180 KB at 1080p) instead of a whole screen's (6 MB), and is a little faster
    than comparing the whole screen at once (about 2 ms for 1080p, against 40+ ms per-pixel)."""
    h, w = current.shape[:2]
    rows, cols = -(-h // tile), -(-w // tile)
    previous_rows, current_rows = previous.reshape(h, -1), current.reshape(h, -1)
    bytes_per_tile = tile * (current_rows.shape[1] // w)
    grid = np.zeros((rows, cols), dtype=bool)
    padded = np.zeros(cols * bytes_per_tile, dtype=bool)
    for r in range(rows):
        band = slice(r * tile, (r + 1) * tile)
        columns = (previous_rows[band] != current_rows[band]).any(axis=0)
        if columns.any():
            padded[: columns.size] = columns
            grid[r] = padded.reshape(cols, bytes_per_tile).any(axis=1)
    return grid


def encode_keyframe(pixels: np.ndarray, codec: str = DEFAULT_CODEC) -> bytes:
    return _pack({"kind": "key", "codec": codec}, _encode_image(pixels, codec, key=True))


def encode_delta(
    current: np.ndarray, grid: np.ndarray, codec: str = DEFAULT_CODEC, tile: int = TILE
) -> bytes:
    """Pack the changed tiles of `current` into one atlas image plus their grid positions."""
    h, w = current.shape[:2]
    positions = [(int(r), int(c)) for r, c in zip(*np.nonzero(grid), strict=True)]
    per_row = max(1, int(np.ceil(np.sqrt(len(positions)))))
    atlas_rows = -(-len(positions) // per_row)
    atlas = np.zeros((atlas_rows * tile, per_row * tile, 3), dtype=np.uint8)
    for i, (r, c) in enumerate(positions):
        block = current[r * tile : min(h, (r + 1) * tile), c * tile : min(w, (c + 1) * tile)]
        ar, ac = divmod(i, per_row)
        atlas[ar * tile : ar * tile + block.shape[0], ac * tile : ac * tile + block.shape[1]] = (
            block
        )
    header = {"kind": "delta", "codec": codec, "tile": tile, "per_row": per_row, "tiles": positions}
    return _pack(header, _encode_image(atlas, codec, key=False))


def decode(payload: bytes, base: np.ndarray | None) -> np.ndarray:
    """The full frame a payload stands for; a delta needs the decoded frame it is based on.
    `base` is left as it was."""
    header, image = _unpack(payload)
    if header["kind"] == "key":
        return _decode_image(image)
    if base is None:
        raise ValueError("a delta frame needs its base frame")
    return _paste(header, _decode_image(image), base.copy())


ImageDecoder = Callable[[bytes], np.ndarray]


def apply(
    payload: bytes, frame: np.ndarray | None, decode_image: ImageDecoder | None = None
) -> np.ndarray:
    """Like `decode`, but a delta is applied to `frame` in place (no 6 MB copy per step):
    for replaying a chain, where the frame before is not needed afterwards. `decode_image`
    may replace the image decoder (a viewer may have a faster one); it must return writable
    RGB pixels, exactly."""
    header, image = _unpack(payload)
    read = decode_image or _decode_image
    if header["kind"] == "key":
        return read(image)
    if frame is None:
        raise ValueError("a delta frame needs its base frame")
    if not frame.flags.writeable:
        frame = frame.copy()
    return _paste(header, read(image), frame)


def _paste(header: dict[str, object], atlas: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Copy the atlas tiles onto `out`: whole tiles in one array assignment, the few tiles cut
    by the right or bottom edge one by one."""
    h, w = out.shape[:2]
    tile = int(header["tile"])  # type: ignore[call-overload]
    per_row = int(header["per_row"])  # type: ignore[call-overload]
    tiles = np.asarray(header["tiles"], dtype=np.int64).reshape(-1, 2)
    if not len(tiles):
        return out
    full_rows, full_cols = h // tile, w // tile
    index = np.arange(len(tiles))
    whole = (tiles[:, 0] < full_rows) & (tiles[:, 1] < full_cols)
    if whole.any():
        ar, ac = np.divmod(index[whole], per_row)
        atlas_rows = atlas.shape[0] // tile
        blocks = atlas[: atlas_rows * tile, : per_row * tile].reshape(
            atlas_rows, tile, per_row, tile, 3
        )[ar, :, ac]
        grid = out[: full_rows * tile, : full_cols * tile].reshape(
            full_rows, tile, full_cols, tile, 3
        )
        grid[tiles[whole, 0], :, tiles[whole, 1]] = blocks
    for i in index[~whole]:
        r, c = int(tiles[i, 0]), int(tiles[i, 1])
        ar_i, ac_i = divmod(int(i), per_row)
        th = min(h, (r + 1) * tile) - r * tile
        tw = min(w, (c + 1) * tile) - c * tile
        out[r * tile : r * tile + th, c * tile : c * tile + tw] = atlas[
            ar_i * tile : ar_i * tile + th, ac_i * tile : ac_i * tile + tw
        ]
    return out


# A stored frame that holds no pixels: the screen at its moment was exactly that of the stored
# frame `base_seq` names. A click keeps its own frame item this way when the screen had not
# changed since the last screenshot, without a second copy of the pixels.
SAME = "same"


@dataclass
class Encoded:
    kind: str  # key | delta | same
    payload: bytes
    base_seq: int | None


class FrameEncoder:
    """Turns successive redacted frames into keyframes and deltas; skips unchanged frames.

    Holds the last stored frame, so each segment gets its own encoder (a segment must decode
    on its own after the ones before it were uploaded or deleted).
    """

    def __init__(self, codec: str = DEFAULT_CODEC, keyframe_every: int = KEYFRAME_EVERY) -> None:
        self.codec = codec
        self.keyframe_every = keyframe_every
        self._last: np.ndarray | None = None
        self._last_seq: int | None = None
        self._since_key = 0

    def reset(self) -> None:
        self._last = None
        self._last_seq = None

    @property
    def last_size(self) -> tuple[int, int] | None:
        """(width, height) of the last stored frame, if any."""
        return None if self._last is None else (self._last.shape[1], self._last.shape[0])

    def same(self) -> Encoded | None:
        """A frame that shows exactly the last stored one (see SAME), or None if nothing was
        stored yet. Later deltas still apply to the last stored frame, not to this one."""
        if self._last_seq is None:
            return None
        return Encoded(SAME, b"", self._last_seq)

    def encode(self, pixels: np.ndarray, seq: int, *, keep_same: bool = False) -> Encoded | None:
        """The stored form of this frame. If it equals the last stored one: None, or with
        `keep_same` a frame that refers to that one."""
        last = self._last
        if last is not None and last.shape == pixels.shape:
            grid = changed_tiles(last, pixels)
            changed = int(grid.sum())
            if changed == 0:
                return self.same() if keep_same else None
            if (
                changed <= KEYFRAME_CHANGED_SHARE * grid.size
                and self._since_key < self.keyframe_every
            ):
                result = Encoded("delta", encode_delta(pixels, grid, self.codec), self._last_seq)
                self._remember(pixels, seq, key=False)
                return result
        result = Encoded("key", encode_keyframe(pixels, self.codec), None)
        self._remember(pixels, seq, key=True)
        return result

    def _remember(self, pixels: np.ndarray, seq: int, *, key: bool) -> None:
        self._last = pixels
        self._last_seq = seq
        self._since_key = 0 if key else self._since_key + 1
