"""/metrics values printed exactly, read back by Prometheus' own text-format parser."""

from __future__ import annotations

from datetime import UTC, datetime

from prometheus_client.parser import text_string_to_metric_families

from monitor.metrics import Metrics

LAST_TICK = datetime(2026, 12, 4, 15, 46, 55, 731000, tzinfo=UTC)


def families(metrics: Metrics) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    parsed = text_string_to_metric_families(metrics.render())
    return {
        family.name: {tuple(sorted(s.labels.items())): s.value for s in family.samples}
        for family in parsed
    }


def test_timestamps_and_big_counters_keep_every_digit() -> None:
    """A Unix time is printed to the second (`{value:g}` lost minutes), counters as integers."""
    metrics = Metrics()
    metrics.set("news_monitor_last_tick_timestamp_seconds", LAST_TICK.timestamp())
    metrics.add("news_monitor_fetched_bytes_total", 123_456_789_012)
    metrics.add("news_monitor_polls_total", 3, outcome="ok")
    metrics.set("news_monitor_tick_lag_seconds", 0.125)

    text = metrics.render()
    read = families(metrics)

    assert "news_monitor_last_tick_timestamp_seconds 1796399215\n" in text
    assert read["news_monitor_last_tick_timestamp_seconds"][()] == 1796399215
    assert "news_monitor_fetched_bytes_total 123456789012\n" in text
    assert read["news_monitor_fetched_bytes"][()] == 123_456_789_012
    assert 'news_monitor_polls_total{outcome="ok"} 3\n' in text
    assert read["news_monitor_tick_lag_seconds"][()] == 0.125
    assert "e+" not in text


def test_label_values_are_escaped_and_every_family_is_declared() -> None:
    metrics = Metrics()
    metrics.add("news_monitor_poll_errors_total", error_class='odd "class"\\ \nname')

    read = families(metrics)

    assert read["news_monitor_poll_errors"] == {(("error_class", 'odd "class"\\ \nname'),): 1}
    assert len(read) == len(metrics.render().split("# TYPE ")) - 1
