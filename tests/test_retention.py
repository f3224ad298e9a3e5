"""The retention purge: old alerts go with their evidence, outbox rows and reviews; kept ones stay."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow.dataset as ds
import pytest

from actors.audit import AuditLog
from actors.dispatch.alert_log import AlertLog
from actors.dispatch.dispatcher import alert_body
from actors.dispatch.outbox import Outbox
from actors.retention import PURGE_ACTION, PurgeReport, RetentionSettings, purge
from actors.retention_schedule import purge_on_schedule
from actors.reviews import ReviewInputError, ReviewLog
from serve.alerts import Alert
from tests.api_support import face_alert

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
SETTINGS = RetentionSettings(alert_days=30, purge_every_s=3600)
CUTOFF = SETTINGS.cutoff(NOW)
REPO = Path(__file__).resolve().parents[1]


def evidence(name: str) -> bytes:
    """A JPEG-looking crop that can be found again in a file's bytes."""
    return b"\xff\xd8\xff\xe0" + f"evidence-of-{name}".encode() * 4 + b"\xff\xd9"


@dataclass
class City:
    """A data directory with an alert log, an outbox (one endpoint) and reviews."""

    data_dir: Path
    audit: AuditLog
    outbox: Outbox
    reviews: ReviewLog

    @property
    def log(self) -> AlertLog:
        return AlertLog(self.data_dir / "alerts")

    def store(self, *alerts: Alert, delivered: bool = True) -> None:
        """As the dispatcher does: into the outbox (a second after capture), then logged, then sent."""
        for alert in alerts:
            self.outbox.add(alert.alert_id, alert_body(alert), now=alert.captured_at.timestamp() + 1)
        part, batch = self.outbox.log_batch(AlertLog.new_part_name(), 100)
        self.log.append_json([json.loads(body) for _, body in batch], part)
        self.outbox.mark_logged(part)
        if delivered:
            for alert in alerts:
                self.outbox.mark_delivered(alert.alert_id, "cc", {"status": 200})

    def review(self, alert: Alert, decision: str, keep: bool = False) -> None:
        assert decision in ("confirmed", "rejected")
        self.reviews.add(
            alert.alert_id,
            "confirmed" if decision == "confirmed" else "rejected",
            "checked",
            "PC 1",
            "desk-1",
            keep=keep,
        )

    def logged_ids(self) -> set[str]:
        return set(self.log.read(["alert_id"]).column("alert_id").to_pylist())

    def purge(self) -> PurgeReport:
        return purge(self.data_dir, CUTOFF, self.audit, outbox=self.outbox, actor="retention-test")


@pytest.fixture
def city(tmp_path: Path, audit: AuditLog) -> Iterator[City]:
    with Outbox(tmp_path / "outbox.sqlite3", ["cc"]) as outbox:
        yield City(tmp_path, audit, outbox, ReviewLog(tmp_path, audit, clock=lambda: NOW))


def old(name: str, days: float = 40) -> Alert:
    return face_alert(captured_at=NOW - timedelta(days=days), evidence_jpeg=evidence(name))


def test_old_alerts_go_with_evidence_outbox_rows_and_reviews_and_confirmed_kept_ones_stay(city: City) -> None:
    plain, rejected, confirmed, kept = old("plain"), old("rejected"), old("confirmed"), old("kept")
    just_old = old("just-old", days=30.01)
    recent = face_alert(captured_at=NOW - timedelta(days=29.99), evidence_jpeg=evidence("recent"))
    city.store(plain, rejected, confirmed, kept, just_old)  # one part: rewritten, not removed
    city.store(recent)
    city.review(rejected, "rejected")
    city.review(confirmed, "confirmed")
    city.review(kept, "confirmed", keep=True)
    city.review(recent, "confirmed")

    report = city.purge()

    assert report == PurgeReport(cutoff=CUTOFF, alerts=4, outbox_alerts=4, undelivered=0, reviews=2, kept=1)
    assert city.logged_ids() == {kept.alert_id, recent.alert_id}
    [row] = city.log.read(where=ds.field("alert_id") == kept.alert_id).to_pylist()
    assert row["evidence_jpeg"] == evidence("kept")
    assert set(city.reviews.all()) == {kept.alert_id, recent.alert_id}
    kept_review = city.reviews.get(kept.alert_id)
    assert kept_review is not None and kept_review.kept
    assert city.outbox.counts().alerts == 2
    assert city.outbox.delivered(kept.alert_id) == {"cc": {"status": 200}}
    assert city.outbox.delivered(plain.alert_id) == {}
    entry = list(city.audit.entries())[-1]
    assert (entry.actor, entry.action) == ("retention-test", PURGE_ACTION)
    assert entry.details == {
        "cutoff": "2026-10-26T12:00:00+00:00",
        "alerts": 4,
        "outbox_alerts": 4,
        "undelivered": 0,
        "reviews": 2,
        "kept": 1,
    }
    assert city.audit.verify() == 5  # four reviews and the purge; the audit log itself is never purged


def test_a_second_purge_finds_nothing_more(city: City) -> None:
    city.store(old("a"), old("b"))
    assert city.purge().alerts == 2
    assert city.purge() == PurgeReport(CUTOFF, alerts=0, outbox_alerts=0, undelivered=0, reviews=0, kept=0)
    assert not list((city.data_dir / "alerts").iterdir()), "emptied parts and days are removed"


def test_the_purged_evidence_is_not_left_in_the_outbox_file(city: City) -> None:
    gone, kept = old("gone"), old("kept")
    city.store(gone, kept)
    city.review(kept, "confirmed", keep=True)

    def in_outbox_files(alert: Alert) -> bool:
        crop = alert.to_json()["evidence"]["crop_jpeg_base64"].encode()  # as the body holds it
        return any(crop in p.read_bytes() for p in city.data_dir.glob("outbox.sqlite3*") if p.is_file())

    assert in_outbox_files(gone) and in_outbox_files(kept)
    city.purge()
    city.outbox.close()  # the last connection folds the write-ahead log into the file
    assert not in_outbox_files(gone), "deleted pages are overwritten (secure_delete)"
    assert in_outbox_files(kept)


def test_undelivered_alerts_past_the_cutoff_go_and_are_counted_but_unlogged_ones_wait(city: City) -> None:
    undelivered = old("undelivered")
    city.store(undelivered, delivered=False)
    unlogged = old("unlogged")
    city.outbox.add(unlogged.alert_id, alert_body(unlogged), now=unlogged.captured_at.timestamp())
    report = city.purge()
    assert (report.alerts, report.outbox_alerts, report.undelivered) == (1, 1, 1)
    assert city.outbox.counts().alerts == 1, "an alert not yet in the alert log waits for the next run"
    assert city.outbox.counts().pending == 1


def test_nothing_changes_when_nothing_is_old(city: City) -> None:
    recent = [face_alert(captured_at=NOW - timedelta(days=d)) for d in (29, 1, 0)]
    city.store(*recent)
    city.review(recent[0], "rejected")
    before = {p: p.read_bytes() for p in city.data_dir.rglob("*.parquet")}

    report = city.purge()

    assert report == PurgeReport(CUTOFF, alerts=0, outbox_alerts=0, undelivered=0, reviews=0, kept=0)
    assert {p: p.read_bytes() for p in city.data_dir.rglob("*.parquet")} == before
    assert city.outbox.counts().alerts == 3
    entry = list(city.audit.entries())[-1]
    assert entry.action == PURGE_ACTION and entry.details["alerts"] == 0, "every run is on the record"


def test_a_dry_run_says_what_would_go_and_changes_nothing(city: City) -> None:
    city.store(old("a"))
    report = purge(city.data_dir, CUTOFF, city.audit, outbox=city.outbox, actor="x", dry_run=True)
    assert (report.alerts, report.outbox_alerts) == (1, 1)
    assert len(city.logged_ids()) == 1 and city.outbox.counts().alerts == 1
    assert not city.audit.path.exists()


def test_a_rejected_review_cannot_be_kept(city: City) -> None:
    alert = old("a")
    with pytest.raises(ReviewInputError, match="keep is only for a confirmed alert; this one is rejected"):
        city.review(alert, "rejected", keep=True)
    assert city.reviews.get(alert.alert_id) is None and not city.audit.path.exists()


def test_a_purge_that_cannot_be_audited_removes_nothing(city: City, monkeypatch: pytest.MonkeyPatch) -> None:
    city.store(old("a"))

    def broken(*args: object, **kwargs: object) -> None:
        raise OSError("audit disk full")

    monkeypatch.setattr(city.audit, "append", broken)
    with pytest.raises(OSError, match="audit disk full"):
        city.purge()
    assert len(city.logged_ids()) == 1 and city.outbox.counts().alerts == 1


# ---- crashes and concurrent readers ----

CRASH_AFTER_ONE_PART = """
import os, signal, sys
from datetime import datetime
from pathlib import Path
from actors.audit import AuditLog
from actors.dispatch import alert_log
from actors.retention import purge

real = alert_log._remove_rows
def remove_then_die(part, ids):
    removed = real(part, ids)
    if removed:
        os.kill(os.getpid(), signal.SIGKILL)  # no handler, no finally: as a power cut or the OOM killer
    return removed
alert_log._remove_rows = remove_then_die
data_dir = Path(sys.argv[1])
purge(data_dir, datetime.fromisoformat(sys.argv[2]), AuditLog(data_dir / "audit.jsonl"), outbox=None,
      actor="doomed")
"""


def test_a_purge_killed_midway_leaves_every_part_whole_and_the_next_run_finishes(city: City) -> None:
    first = [old(f"first-{n}") for n in range(3)]
    second = [old(f"second-{n}", days=35) for n in range(2)]
    recent = face_alert(captured_at=NOW - timedelta(days=1))
    city.store(*first, recent)
    city.store(*second)
    city.review(first[1], "confirmed", keep=True)
    city.review(second[0], "rejected")
    city.outbox.close()  # the killed process would find it locked otherwise; it runs without one here

    killed = subprocess.run(
        [sys.executable, "-c", CRASH_AFTER_ONE_PART, str(city.data_dir), CUTOFF.isoformat()],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr.decode()
    # Every part reads whole: the oldest day's part was rewritten, the next day's not yet touched.
    left = city.logged_ids()
    assert left == {recent.alert_id, first[1].alert_id} | {a.alert_id for a in second}
    assert not list((city.data_dir / "alerts").rglob(".*")), "no temporary file is left where readers look"
    assert [e.actor for e in city.audit.entries() if e.action == PURGE_ACTION] == ["doomed"]

    report = purge(city.data_dir, CUTOFF, city.audit, outbox=None, actor="retention-test")

    assert city.logged_ids() == {recent.alert_id, first[1].alert_id}
    assert (report.alerts, report.reviews, report.kept) == (2, 0, 1)  # the killed run took the review
    assert set(city.reviews.all()) == {first[1].alert_id}
    assert city.audit.verify() == 4  # two reviews, two purges


def test_a_rewrite_that_fails_at_the_rename_leaves_the_part_as_it_was(
    city: City, monkeypatch: pytest.MonkeyPatch
) -> None:
    gone, kept = old("gone"), old("kept")
    city.store(gone, kept)
    city.review(kept, "confirmed", keep=True)
    [part] = (city.data_dir / "alerts").rglob("*.parquet")
    before = part.read_bytes()

    def crash(source: object, target: object) -> None:
        raise OSError("simulated crash during rename")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="simulated crash"):
        city.purge()
    monkeypatch.undo()
    assert part.read_bytes() == before
    assert sorted(p.name for p in part.parent.iterdir()) == [part.name]
    assert city.purge().alerts == 1 and city.logged_ids() == {kept.alert_id}


def test_a_read_that_loses_a_part_to_the_purge_reads_again(
    city: City, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = old("first"), face_alert(captured_at=NOW)
    city.store(first)
    city.store(second)
    [purged_part] = (city.data_dir / "alerts").glob(f"date={first.captured_at:%Y-%m-%d}/*.parquet")
    real_dataset = ds.dataset

    def listed_then_purged(*args: object, **kwargs: object) -> ds.Dataset:
        listed = real_dataset(*args, **kwargs)  # type: ignore[arg-type]
        if purged_part.exists():
            purged_part.unlink()  # as the purge does between this listing and the read
        return listed

    monkeypatch.setattr(ds, "dataset", listed_then_purged)  # as the alert log calls it
    assert city.log.read(["alert_id"]).column("alert_id").to_pylist() == [second.alert_id]


# ---- the schedule ----


async def test_the_schedule_runs_in_a_thread_repeats_survives_a_failure_and_stops(
    caplog: pytest.LogCaptureFixture,
) -> None:
    loop = asyncio.get_running_loop()
    runs: list[int] = []
    third_started = asyncio.Event()
    release_third = threading.Event()

    def run() -> PurgeReport:
        runs.append(threading.get_ident())
        if len(runs) == 1:
            raise OSError("disk full")  # logged; the schedule goes on
        if len(runs) == 3:
            loop.call_soon_threadsafe(third_started.set)
            assert release_third.wait(10), "the test never let the third run finish"
        return PurgeReport(CUTOFF, 0, 0, 0, 0, 0)

    stop = asyncio.Event()
    schedule = asyncio.create_task(purge_on_schedule(run, 0.01, stop, first_after_s=0))
    # The third run blocks its thread; this event loop (the dispatcher's delivery) carries on meanwhile.
    await asyncio.wait_for(third_started.wait(), 10)
    assert threading.get_ident() not in runs
    assert "retention: the purge failed; trying again in 0.01 s" in caplog.messages
    stop.set()
    done, _ = await asyncio.wait({schedule}, timeout=0.2)
    assert not done, "a run under way finishes before the schedule stops"
    release_third.set()
    await asyncio.wait_for(schedule, 10)
    assert len(runs) == 3, "no run starts once stopped"


# ---- the command ----


def test_safecity_purge_refuses_while_a_dispatcher_holds_the_outbox_then_purges(
    city: City, capsys: pytest.CaptureFixture[str]
) -> None:
    from cluster.cli import main

    now = datetime.now(UTC)  # the command purges by the real clock
    gone, recent = face_alert(captured_at=now - timedelta(days=31)), face_alert(captured_at=now)
    city.store(gone, recent)
    data_dir = ["--data-dir", str(city.data_dir), "--actor", "ops-cron"]

    assert main([*data_dir, "purge"]) == 1  # the fixture's outbox stands for a running dispatcher
    error = capsys.readouterr().err
    assert "a running dispatcher holds" in error and "nothing was purged" in error
    city.outbox.close()
    assert main([*data_dir, "purge", "--dry-run"]) == 0
    assert capsys.readouterr().out.startswith("would purge alerts captured before ")
    assert city.logged_ids() == {gone.alert_id, recent.alert_id}

    assert main([*data_dir, "purge"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("purged alerts captured before ") and "1 in the alert log, 1 in the outbox" in out
    assert city.logged_ids() == {recent.alert_id}
    with Outbox(city.data_dir / "outbox.sqlite3", ["cc"]) as outbox:
        assert outbox.counts().alerts == 1
    entry = list(city.audit.entries())[-1]
    assert (entry.actor, entry.action, entry.details["alerts"]) == ("ops-cron", PURGE_ACTION, 1)
