"""The optional Prometheus endpoint: scraped over real HTTP, figures from the register."""

from __future__ import annotations

import datetime as dt
import mailbox
import socket
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from support.builders import HUMAN, MACHINE, base_config, message

from inbox_agent.errors import ConfigError
from inbox_agent.ops.metrics import Metrics, start_metrics
from inbox_agent.pipeline import Pipeline
from inbox_agent.register.db import Register
from inbox_agent.scheduler import PollJob
from inbox_agent.settings import MetricsSettings, Settings, settings_from_dict

NOW = dt.datetime(2027, 4, 14, 8, 0, tzinfo=dt.UTC)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _settings(tmp_path: Path, listen: str | None) -> Settings:
    data = base_config(f"sqlite:///{tmp_path / 'r.sqlite3'}")
    data["maildir"] = {"path": str(tmp_path / "box")}
    data["smtp"] = {
        "from_address": "elections@opcc.testshire.example.org",
        "deliver": "maildir",
        "maildir_path": str(tmp_path / "outbox"),
    }
    if listen is not None:
        data["metrics"] = {"listen": listen}
    return settings_from_dict(data, tmp_path / "inbox-agent.toml")


@pytest.fixture
def register(tmp_path: Path) -> Iterator[Register]:
    reg = Register(f"sqlite:///{tmp_path / 'r.sqlite3'}")
    try:
        yield reg
    finally:
        reg.dispose()


def _scrape(port: int) -> dict[str, float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_off_unless_configured(tmp_path: Path, register: Register) -> None:
    assert start_metrics([Pipeline(_settings(tmp_path, None), register)]) is None


def test_scrape_shows_the_register_and_the_pass_counters(
    tmp_path: Path, register: Register
) -> None:
    box = mailbox.Maildir(tmp_path / "box", create=True)
    box.add(message(*HUMAN[0]))
    box.add(message(*HUMAN[1]))
    sender, subject, body, headers = MACHINE[0]
    box.add(message(sender, subject, body, headers=headers))
    box.close()
    port = _free_port()
    settings = _settings(tmp_path, f"127.0.0.1:{port}")
    pipeline = Pipeline(settings, register, clock=lambda: NOW)
    metrics = start_metrics([pipeline])
    assert metrics is not None
    try:
        job = PollJob(pipeline, 60, observer=metrics)
        job()
        job()  # nothing new the second time
        values = _scrape(port)
    finally:
        metrics.close()
    assert values["inbox_agent_register_up"] == 1
    assert values["inbox_agent_healthy"] == 1
    assert values["inbox_agent_messages_fetched_total"] == 3
    assert values["inbox_agent_cases_opened_total"] == 2
    assert values["inbox_agent_machine_messages_total"] == 1
    assert values["inbox_agent_polls_total"] == 2
    assert values["inbox_agent_poll_failures_total"] == 0
    assert values["inbox_agent_pending_messages"] == 0
    assert values["inbox_agent_outbox_failed"] == 0
    assert values["inbox_agent_quarantined_messages"] == 0
    assert values["inbox_agent_last_successful_poll_timestamp_seconds"] == NOW.timestamp()
    with pytest.raises(OSError):
        _scrape(port)  # closed means closed: the port is free again


def test_a_failed_poll_is_counted(tmp_path: Path, register: Register) -> None:
    settings = _settings(tmp_path, None)  # no Maildir: the poll fails
    metrics = Metrics(settings, register, lambda: NOW)
    job = PollJob(Pipeline(settings, register, clock=lambda: NOW), 60, observer=metrics)
    job()
    failures = metrics.registry.get_sample_value(
        "inbox_agent_poll_failures_total", {"mailbox": "default"}
    )
    assert failures == 1


def test_a_port_in_use_is_the_operators_to_fix(tmp_path: Path, register: Register) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        metrics = Metrics(_settings(tmp_path, None), register, lambda: NOW)
        with pytest.raises(ConfigError, match=r"metrics\.listen"):
            metrics.start("127.0.0.1", port)


@pytest.mark.parametrize("listen", ["9464", "localhost", ":9464", "127.0.0.1:99999", "h:x"])
def test_listen_must_be_host_and_port(listen: str) -> None:
    with pytest.raises(ValueError, match="host:port"):
        MetricsSettings(listen=listen)


def test_each_mailbox_has_its_own_figures(tmp_path: Path, register: Register) -> None:
    """One endpoint for a daemon of several offices; a broken register is that office's up=0."""
    (tmp_path / "north").mkdir()
    (tmp_path / "south").mkdir()
    north = _settings(tmp_path / "north", f"127.0.0.1:{_free_port()}")
    south = _settings(tmp_path / "south", None)
    box = mailbox.Maildir(tmp_path / "north" / "box", create=True)
    box.add(message(*HUMAN[0]))
    box.close()
    south_register = Register(f"sqlite:///{tmp_path / 'south.sqlite3'}")
    pipelines = [
        Pipeline(north, register, clock=lambda: NOW, name="north"),
        Pipeline(south, south_register, clock=lambda: NOW, name="south"),
    ]
    metrics = start_metrics(pipelines)
    assert metrics is not None
    try:
        for pipeline in pipelines:
            PollJob(pipeline, 60, observer=metrics)()  # south has no Maildir: its poll fails
        south_register.dispose()
        (tmp_path / "south.sqlite3").unlink()
        (tmp_path / "south.sqlite3").mkdir()  # a register that cannot be opened at all
        sample = metrics.registry.get_sample_value
        assert sample("inbox_agent_cases_opened_total", {"mailbox": "north"}) == 1
        assert sample("inbox_agent_cases_opened_total", {"mailbox": "south"}) == 0
        assert sample("inbox_agent_poll_failures_total", {"mailbox": "south"}) == 1
        assert sample("inbox_agent_poll_failures_total", {"mailbox": "north"}) == 0
        assert sample("inbox_agent_register_up", {"mailbox": "north"}) == 1
        assert sample("inbox_agent_register_up", {"mailbox": "south"}) == 0
        assert sample("inbox_agent_healthy", {"mailbox": "north"}) == 1
    finally:
        metrics.close()
