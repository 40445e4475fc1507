#!/usr/bin/env python3
"""Benchmark still-image codecs for Praxis screen recording: keyframes vs. tile deltas.

    python bench/frame_codec.py

Needs Pillow (with WebP), numpy, mss, and xterm + xdotool on PATH. If DISPLAY is unset a
private Xvfb 1920x1080x24 is started (and stopped at exit). The captured frames and a crop
of every lossy decode are written to /tmp/codec_crops/ so legibility can be judged by eye.
"""

import atexit
import io
import math
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import mss
import numpy as np
from PIL import Image

REPEATS = 5  # median of this many encodes per codec
CROP_DIR = "/tmp/codec_crops"
# Three 560x220 regions stacked into one crop: code on white (DejaVu 11), colored ls on dark
# (DejaVu 8), log in xterm's bitmap 'fixed' font. Positions follow the layout in build_desktop.
CROP_BOXES = [(20, 0, 580, 220), (1150, 160, 1710, 380), (960, 525, 1520, 745)]
TYPED = "ls -l --color=always /usr/share | tail -20"  # 42 chars; Return later scrolls it
FRAMES_PER_MIN, KEY_EVERY, EXTRAP_TILE = 30, 30, 32
INDEX_BYTES = 4  # per changed tile: (col, row) as two uint16 in the container
# Extra (keyframe codec, delta codec) rows: the settings before and after keyframes moved to
# method 0, which needs half the encoder memory (app/core/frames.py).
MIXES = [("webpLL-m4q50", "webpLL-m1q20"), ("webpLL-m0q100", "webpLL-m1q20")]

# (name, Pillow format, save() kwargs, lossy)
CODECS = (
    [(f"png-{z}", "PNG", dict(compress_level=z, optimize=False), False) for z in (1, 3, 6)]
    # Lossless WebP reads `quality` as effort, not fidelity; pairs follow cwebp -z 0 / 1 / 5.
    + [
        (f"webpLL-m{m}q{q}", "WEBP", dict(lossless=True, method=m, quality=q), False)
        for m, q in ((0, 0), (0, 100), (1, 20), (4, 50))
    ]
    + [
        (f"webp-q{q}-m{m}", "WEBP", dict(quality=q, method=m), True)
        for q in (80, 90)
        for m in (0, 4)
    ]
    # Pillow's JPEG default is 4:2:0 chroma; the 4:4:4 row shows what subsampling costs text.
    + [
        ("jpeg-q80", "JPEG", dict(quality=80), True),
        ("jpeg-q90", "JPEG", dict(quality=90), True),
        ("jpeg-q90-444", "JPEG", dict(quality=90, subsampling=0), True),
    ]
)

_procs = []


@atexit.register
def _cleanup():
    for p in reversed(_procs):  # xterms first, our Xvfb (if any) last
        p.terminate()
    for p in _procs:
        try:
            p.wait(3)
        except subprocess.TimeoutExpired:
            p.kill()


def spawn(*cmd):
    _procs.append(subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))


def xdo(*args):
    # xdotool prints harmless focus warnings on a WM-less server; keep the table clean.
    return subprocess.run(["xdotool", *args], capture_output=True, text=True).stdout


def ensure_display():
    if os.environ.get("DISPLAY"):
        return
    n = next(n for n in range(77, 200) if not os.path.exists(f"/tmp/.X{n}-lock"))
    spawn("Xvfb", f":{n}", "-screen", "0", "1920x1080x24", "-nolisten", "tcp")
    for _ in range(100):
        if os.path.exists(f"/tmp/.X11-unix/X{n}"):
            break
        time.sleep(0.05)
    os.environ["DISPLAY"] = f":{n}"


def write_fixtures(tmp):
    """A deterministic dmesg-like log and a wallpaper; returns their paths."""
    rnd = random.Random(7)
    msgs = [
        "usb {0}-{1}: new high-speed USB device number {2} using xhci_hcd",
        "EXT4-fs (nvme0n1p{1}): mounted filesystem with ordered data mode",
        'audit: type=1400 apparmor="STATUS" operation="profile_load" pid={3}',
        "pci 0000:00:{1:02x}.{0}: [8086:{3:04x}] type 00 class 0x0c0330",
        "nvme nvme0: {2}/0/0 default/read/poll queues",
    ]
    t, lines = 0.0, []
    for _ in range(300):
        t += rnd.expovariate(8)
        args = rnd.randint(1, 4), rnd.randint(1, 9), rnd.randint(2, 40), rnd.randint(1000, 65000)
        lines.append(f"[{t:12.6f}] " + rnd.choice(msgs).format(*args))
    log, wp = os.path.join(tmp, "kern.log"), os.path.join(tmp, "wall.png")
    with open(log, "w") as f:
        f.write("\n".join(lines) + "\n")
    # Smooth diagonal two-colour gradient, like many wallpapers: not free for lossless codecs.
    g = Image.linear_gradient("L").resize((1920, 1080))
    Image.merge(
        "RGB",
        (
            g.point(lambda v: 30 + v // 4),
            g.transpose(Image.Transpose.FLIP_LEFT_RIGHT).point(lambda v: 60 + v // 3),
            Image.new("L", g.size, 120),
        ),
    ).save(wp)
    return log, wp


def build_desktop(tmp):
    """Three xterms with dense text in different fonts; returns the window id to type into."""
    log, wp = write_fixtures(tmp)
    if shutil.which("display"):  # ImageMagick sets the root background and exits
        subprocess.run(["display", "-window", "root", wp], capture_output=True)
    src = os.path.join(os.path.dirname(os.__file__), "inspect.py")
    windows = [  # title, xterm options, command producing the visible text
        (
            "pb-code",
            ["-fa", "DejaVu Sans Mono", "-fs", "11", "-geometry", "100x56+0+0"],
            f"cat {src}",
        ),
        (
            "pb-ls",
            [
                "-fa",
                "DejaVu Sans Mono",
                "-fs",
                "8",
                "-bg",
                "#1e1e2e",
                "-fg",
                "#cdd6f4",
                "-geometry",
                "150x32+940+0",
            ],
            "ls -la --color=always /usr/lib",
        ),
        ("pb-log", ["-geometry", "140x30+960+520"], f"cat {log}"),  # default bitmap 'fixed' font
    ]
    for title, opts, cmd in windows:
        # allowSendEvents lets `xdotool type --window` work without a window manager.
        spawn(
            "xterm",
            "-T",
            title,
            "-xrm",
            "XTerm*allowSendEvents: true",
            *opts,
            "-e",
            "sh",
            "-c",
            f'{cmd}; PS1="dev@praxis:~/src$ " exec sh',
        )
    wids = {t: xdo("search", "--sync", "--name", t).split()[0] for t, _, _ in windows}
    time.sleep(1.5)  # let fonts load and text render
    return wids["pb-ls"]


def grab(sct):
    shot = sct.grab(sct.monitors[0])  # all monitors as one image
    return bytes(shot.bgra), shot.size


def to_rgb(bgra, size):
    return Image.frombytes("RGB", size, bgra, "raw", "BGRX")


def crop(img):
    out = Image.new("RGB", (560, 220 * len(CROP_BOXES)))
    for i, box in enumerate(CROP_BOXES):
        out.paste(img.crop(box), (0, 220 * i))
    return out


def timed(fn, n):
    """Run fn n times; return (last result, median CPU ms, median wall ms)."""
    cpu, wall = [], []
    for _ in range(n):
        c0, w0 = time.process_time(), time.perf_counter()
        out = fn()
        cpu.append((time.process_time() - c0) * 1e3)
        wall.append((time.perf_counter() - w0) * 1e3)
    return out, statistics.median(cpu), statistics.median(wall)


def encode(img, fmt, kw):
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def changed_tiles(a, b, size, ts):
    """(row, col) of every ts x ts tile that differs between two BGRA frames."""
    w, h = size
    # One uint32 compare per pixel instead of four byte compares.
    d = np.frombuffer(a, np.uint32).reshape(h, w) != np.frombuffer(b, np.uint32).reshape(h, w)
    ph, pw = -h % ts, -w % ts  # 1080 is not a multiple of 32/64: pad the last tile row
    d = np.pad(d, ((0, ph), (0, pw))) if ph or pw else d
    return np.argwhere(d.reshape((h + ph) // ts, ts, (w + pw) // ts, ts).any(axis=(1, 3)))


def pack_atlas(rgb, tiles, ts):
    """Copy changed tiles row-major into a near-square grid so neighbours stay adjacent."""
    cols = max(1, math.ceil(math.sqrt(len(tiles))))
    out = np.zeros((max(1, math.ceil(len(tiles) / cols)) * ts, cols * ts, 3), np.uint8)
    for i, (ty, tx) in enumerate(tiles):
        blk = rgb[ty * ts : (ty + 1) * ts, tx * ts : (tx + 1) * ts]
        r, c = divmod(i, cols)
        out[r * ts : r * ts + blk.shape[0], c * ts : c * ts + blk.shape[1]] = blk
    return Image.fromarray(out)


def text_mask(a):
    """Pixels on or next to a sharp edge (glyph strokes, borders): where smearing shows."""
    e = np.zeros(a.shape[:2], bool)
    e[:, :-1] |= np.abs(a[:, 1:] - a[:, :-1]).max(2) > 64
    e[:-1, :] |= np.abs(a[1:] - a[:-1]).max(2) > 64
    m = e.copy()  # dilate by one pixel so ringing around glyphs counts too
    m[1:] |= e[:-1]
    m[:-1] |= e[1:]
    m[:, 1:] |= e[:, :-1]
    m[:, :-1] |= e[:, 1:]
    return m


def psnr(err):
    return 10 * math.log10(255**2 / max(float(np.mean(err.astype(np.float64) ** 2)), 1e-9))


def main():
    ensure_display()
    os.makedirs(CROP_DIR, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="praxis-bench-")
    atexit.register(shutil.rmtree, tmp, True)
    typer = build_desktop(tmp)
    sct = mss.MSS() if hasattr(mss, "MSS") else mss.mss()  # mss >= 10 renamed the factory

    xdo("windowfocus", typer)  # focus first so A->B differs only by the typed text
    time.sleep(0.3)
    frame_a, size = grab(sct)
    xdo("type", "--window", typer, "--delay", "20", TYPED)
    time.sleep(0.7)
    frame_b, _ = grab(sct)
    xdo("key", "--window", typer, "Return")
    time.sleep(1.0)
    frame_c, _ = grab(sct)
    for tag, fr in (("A", frame_a), ("B_typed", frame_b), ("C_scrolled", frame_c)):
        to_rgb(fr, size).save(f"{CROP_DIR}/frame_{tag}.png", compress_level=1)

    img_a = to_rgb(frame_a, size)
    orig = np.asarray(img_a, np.int16)
    mask = text_mask(orig)
    crop(img_a).save(f"{CROP_DIR}/original.png")
    print(
        f"# frame {size[0]}x{size[1]}  text-mask pixels {mask.mean() * 100:.1f}%  "
        f"repeats {REPEATS}  cpus {os.cpu_count()}"
    )

    print("\n## per-frame pipeline costs (ms, median of 15)")
    print(f"{'step':<28}{'cpu':>8}{'wall':>8}")
    costs = {
        "mss grab monitors[0]": lambda: grab(sct),
        "BGRX->RGB frombytes": lambda: to_rgb(frame_a, size),
        "tile diff 32px (numpy)": lambda: changed_tiles(frame_a, frame_b, size, 32),
        "tile diff 64px (numpy)": lambda: changed_tiles(frame_a, frame_b, size, 64),
    }
    for step, fn in costs.items():
        _, costs[step], w = timed(fn, 15)
        print(f"{step:<28}{costs[step]:8.2f}{w:8.2f}")

    print("\n## keyframe (full frame)")
    print(
        f"{'codec':<14}{'bytes':>10}{'cpu ms':>9}{'wall ms':>9}{'PSNR':>7}{'PSNRtxt':>8}"
        f"{'maxErrTxt':>10}{'p99ErrTxt':>10}"
    )
    key = {}
    for name, fmt, kw, lossy in CODECS:
        data, c, w = timed(lambda: encode(img_a, fmt, kw), REPEATS)
        key[name] = (len(data), c)
        dec = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), np.int16)
        err = np.abs(dec - orig)
        if lossy:
            txt = err.max(2)[mask]  # worst channel per text pixel
            q = f"{psnr(err):7.1f}{psnr(err[mask]):8.1f}{txt.max():10d}{np.percentile(txt, 99):10.0f}"
            crop(Image.fromarray(dec.astype(np.uint8))).save(f"{CROP_DIR}/{name}.png")
        else:
            assert not err.any(), f"{name} is not lossless"
            q = f"{'exact':>7}"
        print(f"{name:<14}{len(data):10d}{c:9.1f}{w:9.1f}{q}")

    print("\n## delta (tiles changed vs the previous frame, packed into one atlas image)")
    delta = {}
    for label, fa, fb in [("type", frame_a, frame_b), ("scroll", frame_b, frame_c)]:
        rgb = np.asarray(to_rgb(fb, size))
        for ts in (32, 64):
            tiles = changed_tiles(fa, fb, size, ts)
            atlas, pc, _ = timed(lambda: pack_atlas(rgb, tiles, ts), 5)
            delta[(label, ts)] = (len(tiles), atlas)
            total = math.ceil(size[0] / ts) * math.ceil(size[1] / ts)
            print(
                f"# {label:<6} {ts}px: {len(tiles):5d} tiles changed ({100 * len(tiles) / total:5.1f}%)"
                f"  atlas {atlas.width}x{atlas.height}  pack {pc:.2f} ms cpu"
            )
    print(f"{'codec':<14}" + "".join(f"{f'{lb}{ts} B':>12}{'ms':>7}" for lb, ts in delta))
    dres = {}
    for name, fmt, kw, _ in CODECS:
        row = f"{name:<14}"
        for (label, ts), (n, atlas) in delta.items():
            data, c, _ = timed(lambda: encode(atlas, fmt, kw), REPEATS)
            dres[(name, label, ts)] = (len(data) + INDEX_BYTES * n, c)
            row += f"{len(data):12d}{c:7.1f}"
        print(row)

    print(
        f"\n## extrapolation: {FRAMES_PER_MIN} frames/min, 1 keyframe per {KEY_EVERY}, "
        f"deltas at {EXTRAP_TILE}px tiles (+{INDEX_BYTES} B/tile index); core% = share of one core"
    )
    keys_pm, deltas_pm = FRAMES_PER_MIN / KEY_EVERY, FRAMES_PER_MIN * (1 - 1 / KEY_EVERY)
    # Every captured frame pays grab + conversion + diff, whether or not it becomes a delta.
    fixed_ms = FRAMES_PER_MIN * (
        costs["mss grab monitors[0]"]
        + costs["BGRX->RGB frombytes"]
        + costs[f"tile diff {EXTRAP_TILE}px (numpy)"]
    )
    rows = [(n, n) for n, *_ in CODECS] + MIXES
    names = [k if k == d else f"key:{k} delta:{d}" for k, d in rows]
    lw = max(map(len, names)) + 1  # column width
    print(
        f"{'codec':<{lw}}{'MB/h type':>11}{'MB/h scroll':>13}{'core% type':>12}{'core% scroll':>14}"
    )
    for label, (kname, dname) in zip(names, rows):
        kb, kc = key[kname]
        d = [dres[(dname, s, EXTRAP_TILE)] for s in ("type", "scroll")]
        mb = [60 * (keys_pm * kb + deltas_pm * db) / 1e6 for db, _ in d]
        cpu = [100 * (keys_pm * kc + deltas_pm * dc + fixed_ms) / 60000 for _, dc in d]
        print(f"{label:<{lw}}{mb[0]:11.1f}{mb[1]:13.1f}{cpu[0]:12.2f}{cpu[1]:14.2f}")


if __name__ == "__main__":
    sys.exit(main())
