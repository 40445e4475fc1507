"""The uploader's rules without a network: backoff, Retry-After, where a token may go, the
bookkeeping in the buffer, and the platform's battery and metered answers."""

from __future__ import annotations

import sqlite3
import time
from email.utils import formatdate
from pathlib import Path

import pytest

from app.core.buffer import schema, uploads
from app.core.buffer.store import Buffer
from app.core.lifecycle import SegmentState
from app.core.settings import Settings, SettingsError
from app.core.upload.backoff import MAX_RETRY_AFTER_S, Backoff
from app.core.upload.conditions import Conditions
from app.core.upload.endpoint import (
    EndpointError,
    check_collector_url,
    files_endpoint,
    relative_path,
    same_origin_url,
)
from app.core.upload.target import Target
from app.core.upload.tus import encode_metadata, header_number, parse_retry_after
from app.core.upload.worker import Uploader
from app.platform.connectivity import metered_from_nm, read_on_battery
from tests.support.seed import seed_approved


# -- backoff ---------------------------------------------------------------------------------
def test_backoff_grows_exponentially_up_to_its_cap_and_draws_below_it() -> None:
    top = Backoff(base_s=1.0, cap_s=60.0, draw=lambda: 1.0)
    assert [top.delay(n) for n in range(0, 9)] == [0, 1, 2, 4, 8, 16, 32, 60, 60]
    assert Backoff(base_s=1.0, cap_s=60.0, draw=lambda: 0.0).delay(5) == 0.0  # full jitter
    assert Backoff(cap_s=300.0).ceiling(10_000) == 300.0  # no overflow after many failures


def test_retry_after_is_a_floor_under_the_jitter_and_is_capped() -> None:
    backoff = Backoff(base_s=1.0, cap_s=60.0, draw=lambda: 0.0)
    assert backoff.delay(1, retry_after=7.0) == 7.0
    assert Backoff(draw=lambda: 1.0).delay(3, retry_after=1.0) == 4.0
    assert backoff.delay(1, retry_after=10**9) == MAX_RETRY_AFTER_S


def test_retry_after_reads_seconds_and_http_dates() -> None:
    now = time.time()
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after(formatdate(now + 30, usegmt=True), now=now) == pytest.approx(30, abs=1)
    assert parse_retry_after(formatdate(now - 30, usegmt=True), now=now) == 0.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


def test_metadata_is_tus_base64_pairs() -> None:
    assert encode_metadata({"segment_id": "seg_1", "format_version": "1"}) == (
        "segment_id c2VnXzE=,format_version MQ=="
    )


# -- where the token may go ------------------------------------------------------------------
def test_tls_is_required_off_loopback() -> None:
    assert check_collector_url("https://collector.example/files/")
    for url in ("http://127.0.0.1:9/files/", "http://[::1]:9/", "http://localhost:9/"):
        assert check_collector_url(url)
    for bad in ("http://collector.example/", "ftp://x/", "collector.example", "https://u:p@x/"):
        with pytest.raises(EndpointError):
            check_collector_url(bad)
    with pytest.raises(SettingsError, match="collector_url"):
        Settings(collector_url="http://10.0.0.5/files/").validate()


def test_upload_urls_must_stay_on_the_collectors_origin() -> None:
    base = "https://c.example/files/"
    assert same_origin_url(base, "/files/abc") == "https://c.example/files/abc"
    assert same_origin_url(base, "https://c.example:443/files/abc").endswith("/files/abc")
    for elsewhere in ("https://evil.example/files/abc", "http://c.example/files/abc", "//evil/x"):
        with pytest.raises(EndpointError):
            same_origin_url(base, elsewhere)
    assert files_endpoint("https://c.example") == "https://c.example/files/"
    assert files_endpoint("https://c.example/tus") == "https://c.example/tus/"
    assert relative_path("http://127.0.0.1:5/files/x?y=1") == "/files/x?y=1"


# -- bookkeeping -----------------------------------------------------------------------------
def test_schema_3_adds_upload_bookkeeping_to_an_existing_buffer(data_dir: Path) -> None:
    Buffer(data_dir)
    conn = sqlite3.connect(data_dir / "buffer.db")
    conn.execute("DROP TABLE uploads")
    conn.execute("DROP TABLE erasures")
    conn.execute("DROP TRIGGER frames_same_needs_its_frame")  # version 4
    conn.execute("DROP TRIGGER frames_same_go_with_their_frame")
    conn.execute("PRAGMA user_version = 2")
    conn.commit()
    conn.close()
    buffer = Buffer(data_dir)
    with buffer.reader() as db:
        assert schema.schema_version(db.conn) == schema.LATEST == 4
        assert uploads.summary(db)["erasures_pending"] == 0


def test_an_upload_resumes_from_its_row_and_restarts_for_other_content(data_dir: Path) -> None:
    buffer, [segment_id] = seed_approved(data_dir, 1, frames=1)
    row = buffer.write(lambda tx: uploads.begin(tx, segment_id, "c1", 100, "a" * 64))
    assert row.url is None and row.offset == 0
    buffer.write(lambda tx: uploads.set_url(tx, segment_id, "/files/1"))
    buffer.write(lambda tx: uploads.record_progress(tx, segment_id, 40))
    again = buffer.write(lambda tx: uploads.begin(tx, segment_id, "c1", 100, "a" * 64))
    assert (again.url, again.offset) == ("/files/1", 40)
    # Another collector: the old upload is erased there and a new one starts.
    moved = buffer.write(lambda tx: uploads.begin(tx, segment_id, "c2", 100, "a" * 64))
    assert moved.url is None and moved.collector == "c2"
    with buffer.reader() as db:
        [erasure] = uploads.due_erasures(db, time.time())
    assert (erasure.collector, erasure.url) == ("c1", "/files/1")


def test_failures_wait_and_quarantine_sets_aside(data_dir: Path) -> None:
    buffer, [a, b] = seed_approved(data_dir, 2, frames=1)
    for segment_id in (a, b):
        buffer.write(lambda tx, s=segment_id: uploads.begin(tx, s, "c", 10, "b" * 64))
    later = time.time() + 60
    buffer.write(lambda tx: uploads.record_failure(tx, a, "503", later))
    buffer.write(lambda tx: uploads.record_failure(tx, b, "400 bad", 0, quarantine=True))
    with buffer.reader() as db:
        assert uploads.due_segments(db, time.time()) == []
        assert uploads.due_segments(db, later + 1) == [a]
        assert uploads.next_attempt(db) == pytest.approx(later)
        summary = uploads.summary(db)
    assert summary["quarantined"] == 1 and summary["uploading"] == 2
    assert buffer.write(uploads.unquarantine) == 2
    with buffer.reader() as db:
        assert sorted(uploads.due_segments(db, time.time())) == sorted([a, b])


def test_acknowledged_content_is_purged_after_the_retention(data_dir: Path) -> None:
    buffer, [segment_id] = seed_approved(data_dir, 1, frames=2)
    buffer.write(lambda tx: uploads.begin(tx, segment_id, "c", 10, "c" * 64))
    buffer.write(lambda tx: uploads.acknowledge(tx, segment_id, "confirmed"))
    assert buffer.write(lambda tx: uploads.purge_acknowledged(tx, time.time() - 3600)) == []
    assert buffer.write(lambda tx: uploads.purge_acknowledged(tx, time.time())) == [segment_id]
    with buffer.reader() as db:
        state, frames = db.execute(
            "SELECT state, (SELECT count(*) FROM frames WHERE segment_id = ?1) FROM segments"
            " WHERE id = ?1",
            [segment_id],
        ).fetchone()
    assert (state, frames) == (SegmentState.PURGED.value, 0)


def test_deleting_an_uploaded_session_queues_its_erasure_durably(data_dir: Path) -> None:
    buffer, [segment_id] = seed_approved(data_dir, 1, frames=1, session_id="ses_x")
    buffer.write(lambda tx: uploads.begin(tx, segment_id, "c", 10, "d" * 64))
    buffer.write(lambda tx: uploads.set_url(tx, segment_id, "/files/9"))
    buffer.write(lambda tx: uploads.acknowledge(tx, segment_id, "confirmed"))
    buffer.write(lambda tx: uploads.purge_acknowledged(tx, time.time()))
    report = buffer.write(lambda tx: tx.delete_session("ses_x"))
    assert report.erasures == 1 and "to be erased from the collector" in report.describe()
    reopened = Buffer(data_dir)  # a restart keeps the queue
    with reopened.reader() as db:
        [erasure] = uploads.due_erasures(db, time.time())
        assert erasure.url == "/files/9"
        state = db.execute("SELECT state FROM segments WHERE id = ?", [segment_id]).fetchone()[0]
    assert state == SegmentState.DELETED.value
    reopened.write(lambda tx: uploads.erasure_confirmed(tx, erasure, "erased"))
    with reopened.reader() as db:
        assert uploads.due_erasures(db, time.time()) == []


def test_a_change_while_uploading_sends_back_to_review_and_erases_the_partial_upload(
    data_dir: Path,
) -> None:
    buffer, [segment_id] = seed_approved(data_dir, 1, frames=3)
    buffer.write(lambda tx: uploads.begin(tx, segment_id, "c", 10, "e" * 64))
    buffer.write(lambda tx: uploads.set_url(tx, segment_id, "/files/p"))
    buffer.write(lambda tx: tx.delete_in_segment(segment_id, frame_seqs=[5]))
    with buffer.reader() as db:
        assert uploads.upload_row(db, segment_id) is None
        assert [e.url for e in uploads.due_erasures(db, time.time())] == ["/files/p"]
    assert not buffer.write(lambda tx: uploads.set_offset(tx, segment_id, 5))  # sender stops


# -- conditions --------------------------------------------------------------------------------
def _supply(root: Path, name: str, **files: str) -> None:
    (root / name).mkdir(parents=True)
    for key, value in files.items():
        (root / name / key).write_text(value + "\n")


def test_battery_is_read_from_power_supply_folders(tmp_path: Path) -> None:
    laptop = tmp_path / "laptop"
    _supply(laptop, "AC", type="Mains", online="0")
    _supply(laptop, "BAT0", type="Battery")
    _supply(laptop, "hidpp_battery_0", type="Battery", scope="Device")
    assert read_on_battery(laptop) is True
    (laptop / "AC" / "online").write_text("1\n")
    assert read_on_battery(laptop) is False
    desktop = tmp_path / "desktop"
    desktop.mkdir()
    assert read_on_battery(desktop) is False  # no battery at all
    assert read_on_battery(tmp_path / "missing") is None


def test_metered_and_battery_conditions_block_only_when_the_os_says_so() -> None:
    class Answers:
        def __init__(self, battery: bool | None, metered: bool | None) -> None:
            self.battery, self.is_metered = battery, metered

        def on_battery(self) -> bool | None:
            return self.battery

        def metered(self) -> bool | None:
            return self.is_metered

    strict = Settings(upload_on_ac_only=True, upload_on_metered=False)
    assert "plugged in" in Conditions(Answers(True, False)).blocked(strict)
    assert "metered" in Conditions(Answers(False, True)).blocked(strict)
    assert Conditions(Answers(None, None)).blocked(strict) is None  # unknown → allowed
    assert Conditions(Answers(True, True)).blocked(Settings()) is None  # options off
    assert [metered_from_nm(v) for v in (0, 1, 2, 3, 4, None)] == [
        None,
        True,
        False,
        True,
        False,
        None,
    ]


# -- the worker's pace while nothing can be sent ------------------------------------------------
class _Counting:
    """Counts how often the worker asks where to send or whether it may."""

    def __init__(self, target: Target | None, blocked: str | None = None) -> None:
        self.calls = 0
        self._target = target
        self._blocked = blocked

    def target(self) -> Target | None:
        self.calls += 1
        return self._target

    def blocked(self, settings: Settings) -> str | None:
        return self._blocked


def _calls_in_one_second(data_dir: Path, counting: _Counting) -> int:
    buffer = Buffer(data_dir)
    uploader = Uploader(buffer, Settings(), counting.target, conditions=counting)
    uploader.start()
    try:
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:  # the measured span itself: calls in one second
            time.sleep(0.05)
    finally:
        uploader.stop()
    return counting.calls


def _started_once(data_dir: Path) -> None:
    """An approved segment whose upload began earlier: its next attempt is due at once."""
    buffer, [segment_id] = seed_approved(data_dir, 1, frames=1)
    buffer.write(lambda tx: uploads.begin(tx, segment_id, "this-computer", 10, "f" * 64))


def test_the_worker_waits_the_poll_interval_when_no_collector_is_there(data_dir: Path) -> None:
    _started_once(data_dir)
    assert _calls_in_one_second(data_dir, _Counting(None)) <= 2


def test_the_worker_waits_the_poll_interval_while_conditions_block(data_dir: Path) -> None:
    _started_once(data_dir)
    counting = _Counting(Target("http://127.0.0.1:9/files/", "t"), blocked="on battery")
    assert _calls_in_one_second(data_dir, counting) <= 2


def test_an_erasure_for_another_collector_does_not_keep_the_worker_busy(data_dir: Path) -> None:
    buffer, [segment_id] = seed_approved(data_dir, 1, frames=1, session_id="ses_other")
    buffer.write(lambda tx: uploads.begin(tx, segment_id, "https://old.example:443", 10, "f" * 64))
    buffer.write(lambda tx: uploads.set_url(tx, segment_id, "/files/old"))
    buffer.write(lambda tx: tx.delete_session("ses_other"))
    with buffer.reader() as db:
        assert uploads.due_erasures(db, time.time(), "this-computer") == []
        assert uploads.next_attempt(db, "this-computer") is None
        assert uploads.next_attempt(db) == 0
    counting = _Counting(Target("http://127.0.0.1:9/files/", "t", embedded=True))
    assert _calls_in_one_second(data_dir, counting) <= 2


def test_header_numbers_and_ports_that_cannot_be_read_are_errors_not_crashes() -> None:
    assert header_number("²") is None and header_number(" 42 ") == 42
    assert header_number("-1") is None and header_number(None) is None
    assert parse_retry_after("²") is None
    with pytest.raises(EndpointError):
        same_origin_url("https://c.example/files/", "https://c.example:99999/files/x")


def test_a_loop_outliving_stop_ends_instead_of_running_next_to_the_new_one(
    data_dir: Path,
) -> None:
    import threading

    _started_once(data_dir)
    asked, release = threading.Event(), threading.Event()

    def slow_target() -> Target | None:  # a request that outlasts stop()'s wait
        asked.set()
        release.wait(10)
        return None

    uploader = Uploader(Buffer(data_dir), Settings(), slow_target)

    def loops() -> int:
        return sum(t.name == "praxis-uploader" and t.is_alive() for t in threading.enumerate())

    uploader.start()
    try:
        assert asked.wait(10)
        uploader.stop(timeout=0.1)
        uploader.start()
        release.set()
        deadline = time.monotonic() + 10
        while loops() > 1 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert loops() == 1
    finally:
        release.set()
        uploader.stop()
    assert loops() == 0


def test_a_package_confirmed_by_its_length_alone_is_kept_here_a_week(data_dir: Path) -> None:
    buffer, [checked, unchecked] = seed_approved(data_dir, 2, frames=1)
    for segment_id, how in (
        (checked, "every chunk's sha256 accepted"),
        (unchecked, uploads.UNVERIFIED),
    ):
        buffer.write(lambda tx, s=segment_id: uploads.begin(tx, s, "c", 10, "a" * 64))
        buffer.write(lambda tx, s=segment_id, h=how: uploads.acknowledge(tx, s, h))
    uploader = Uploader(buffer, Settings(keep_uploaded_hours=0), lambda: None)
    assert uploader.purge_due() == [checked]
    assert uploader.purge_due(now=time.time() + 6 * 24 * 3600) == []
    assert uploader.purge_due(now=time.time() + 8 * 24 * 3600) == [unchecked]


def test_the_token_is_not_sent_to_a_collector_it_was_not_given_for() -> None:
    from app.core.upload.target import (
        ENROLLED_ORIGIN,
        ENROLLED_TOKEN,
        TokenForAnotherCollector,
        configured_target,
        store_token,
    )

    store_token(ENROLLED_TOKEN, "pxc_secret")
    assert configured_target("https://old.example/").token == "pxc_secret"  # older enrollments
    store_token(ENROLLED_ORIGIN, "https://old.example:443")
    assert configured_target("https://old.example/files/").token == "pxc_secret"
    with pytest.raises(TokenForAnotherCollector, match="enroll again"):
        configured_target("https://new.example/files/")
