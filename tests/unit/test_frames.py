import numpy as np
import pytest

from app.core.frames import TILE, FrameEncoder, bgra_to_rgb, changed_tiles, decode


def screen(seed: int = 0, h: int = 270, w: int = 500) -> np.ndarray:
    rng = np.random.default_rng(seed)
    img = np.full((h, w, 3), 240, dtype=np.uint8)
    img[20:60, 10:400] = rng.integers(0, 255, (40, 390, 3), dtype=np.uint8)  # "text"
    return img


def test_a_bgra_screenshot_becomes_rgb_pixels_that_can_be_drawn_on() -> None:
    rng = np.random.default_rng(3)
    bgra = rng.integers(0, 256, (7, 11, 4), dtype=np.uint8)
    rgb = bgra_to_rgb(bytes(bgra.tobytes()), 11, 7)
    assert rgb.shape == (7, 11, 3) and rgb.flags.c_contiguous and rgb.flags.writeable
    assert np.array_equal(rgb[..., 0], bgra[..., 2])
    assert np.array_equal(rgb[..., 1], bgra[..., 1])
    assert np.array_equal(rgb[..., 2], bgra[..., 0])


@pytest.mark.parametrize("codec", ["webp", "png"])
def test_keyframe_and_deltas_decode_exactly(codec: str) -> None:
    enc = FrameEncoder(codec)
    frames = [screen()]
    for i in range(1, 5):
        nxt = frames[-1].copy()
        nxt[100 + i * 10 : 108 + i * 10, 30 : 30 + 40 * i] = (i * 40) % 255  # typing a line
        frames.append(nxt)
    decoded = None
    kinds = []
    for seq, frame in enumerate(frames):
        out = enc.encode(frame, seq)
        assert out is not None
        kinds.append(out.kind)
        decoded = decode(out.payload, decoded)
        assert np.array_equal(decoded, frame)
    assert kinds == ["key", "delta", "delta", "delta", "delta"]


def test_delta_is_much_smaller_than_keyframe() -> None:
    enc = FrameEncoder()
    first = screen(h=1080, w=1920)
    key = enc.encode(first, 0)
    second = first.copy()
    second[500:516, 100:300] = 0
    delta = enc.encode(second, 1)
    assert key is not None and delta is not None
    assert delta.kind == "delta" and len(delta.payload) * 5 < len(key.payload)


def test_identical_frame_is_skipped() -> None:
    enc = FrameEncoder()
    assert enc.encode(screen(), 0) is not None
    assert enc.encode(screen(), 1) is None


def test_large_change_becomes_keyframe() -> None:
    enc = FrameEncoder()
    enc.encode(screen(0), 0)
    out = enc.encode(np.zeros_like(screen(0)), 1)
    assert out is not None and out.kind == "key"


def test_keyframe_interval_bounds_chains() -> None:
    enc = FrameEncoder(keyframe_every=3)
    frame = screen()
    kinds = []
    for seq in range(8):
        frame = frame.copy()
        frame[0, seq] = 7
        out = enc.encode(frame, seq)
        assert out is not None
        kinds.append(out.kind)
    assert kinds == ["key", "delta", "delta", "delta", "key", "delta", "delta", "delta"]


def test_changed_tiles_handles_partial_edge_tiles() -> None:
    a = screen()
    b = a.copy()
    b[-1, -1] = 0
    grid = changed_tiles(a, b)
    assert grid.shape == (-(-a.shape[0] // TILE), -(-a.shape[1] // TILE))
    assert grid.sum() == 1 and grid[-1, -1]


def test_delta_without_base_is_refused() -> None:
    enc = FrameEncoder()
    enc.encode(screen(), 0)
    changed = screen()
    changed[0, 0] = 1
    out = enc.encode(changed, 1)
    assert out is not None
    with pytest.raises(ValueError):
        decode(out.payload, None)


@pytest.mark.parametrize("shape", [(100, 150), (64, 96), (1080, 1920), (33, 31)])
def test_applying_deltas_in_place_gives_the_same_frames_as_decoding(shape: tuple[int, int]) -> None:
    from app.core.frames import apply, decode

    rng = np.random.default_rng(sum(shape))
    frames = [rng.integers(0, 255, (*shape, 3), dtype=np.uint8)]
    for _ in range(6):
        nxt = frames[-1].copy()
        for _ in range(3):  # a few changes, some at the right and bottom edges
            y, x = int(rng.integers(0, shape[0])), int(rng.integers(0, shape[1]))
            nxt[y : y + 9, x : x + 13] = rng.integers(0, 255, 3, dtype=np.uint8)
        frames.append(nxt)
    encoder = FrameEncoder()
    payloads = [encoder.encode(f, i).payload for i, f in enumerate(frames)]  # type: ignore[union-attr]
    decoded = None
    replayed = None
    for frame, payload in zip(frames, payloads, strict=True):
        previous = decoded
        decoded = decode(payload, decoded)
        replayed = apply(payload, replayed)
        assert np.array_equal(decoded, frame) and np.array_equal(replayed, frame)
        if previous is not None:
            assert previous is not decoded  # decode leaves its base alone
