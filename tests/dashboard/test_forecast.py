"""The forecast learns a known daily and weekly pattern from synthetic history."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from cloud import forecast, registry
from cloud.db import read_only, transaction
from cloud.schema import orders
from edge.protocol import format_time

HOUR = timedelta(hours=1)
# A Monday midnight, so weekday 0 is the first day of the history.
START = datetime(2026, 9, 7, tzinfo=UTC)
MORNING = [0.1] * 7 + [0.5, 1.0, 1.5, 2.0, 2.5, 2.0, 1.5]
EVENING = [1.2, 1.2, 1.5, 2.0, 2.5, 2.0, 1.0, 0.5, 0.3, 0.2]
DAILY = MORNING + EVENING  # peaks at 11:00 and 18:00
WEEKLY = [0.8, 0.8, 0.9, 1.0, 1.2, 1.6, 0.7]
LEVEL = 20.0  # orders per hour at factor 1


def truth(hour: datetime) -> float:
    return LEVEL * DAILY[hour.hour] * WEEKLY[hour.weekday()]


def synthetic(weeks: int, noise: bool) -> dict[datetime, int]:
    rng = random.Random(7)
    counts = {}
    for i in range(weeks * 7 * 24):
        hour = START + i * HOUR
        mean = truth(hour)
        counts[hour] = max(0, round(rng.gauss(mean, mean**0.5) if noise else mean))
    return counts


def test_recovers_the_daily_and_weekly_shape_without_noise():
    counts = synthetic(4, noise=False)
    end = START + timedelta(weeks=4)
    model = forecast.fit(counts, START, end)
    for hour, expected in model.predict(end, 48):
        assert abs(expected - truth(hour)) <= 0.08 * truth(hour) + 0.6, hour


def test_forecast_with_noise_follows_peaks_and_weekends():
    counts = synthetic(6, noise=True)
    end = START + timedelta(weeks=6)
    model = forecast.fit(counts, START, end)
    predicted = dict(model.predict(end, 7 * 24))
    error = sum(abs(predicted[h] - truth(h)) for h in predicted) / sum(truth(h) for h in predicted)
    assert error < 0.1
    # The busiest forecast hour of the Saturday (weekday 5) beats the same hour on Sunday.
    saturday = end + timedelta(days=5, hours=12)
    assert predicted[saturday] > 2 * predicted[saturday + timedelta(days=1)]
    assert max(predicted, key=predicted.__getitem__).hour in (11, 18)


def test_short_history_and_no_history():
    empty = forecast.fit({}, START, START + timedelta(days=3))
    assert all(v == 0 for _, v in empty.predict(START, 48))
    two_days = synthetic(1, noise=False)
    short = {h: n for h, n in two_days.items() if h < START + timedelta(days=2)}
    model = forecast.fit(short, START, START + timedelta(days=2))
    tomorrow = model.predict(START + timedelta(days=2), 24)
    peak = max(tomorrow, key=lambda p: p[1])[0]
    assert peak.hour in (11, 18) and model.weekly[5] == 1.0  # Saturday not seen: average


def test_store_forecast_from_orders_in_the_database(engine):
    now = START + timedelta(weeks=3, hours=10, minutes=30)
    rows, n = [], 0
    for hour, count in synthetic(4, noise=False).items():
        if hour >= now - HOUR / 2:
            break
        for k in range(count):
            n += 1
            at = format_time(hour + timedelta(minutes=k % 60))
            rows.append(
                {
                    "id": f"o{n}",
                    "tenant": "test",
                    "number": f"N{n}",
                    "station": "st-01",
                    "channel": "kiosk",
                    "status": "packed",
                    "total": "1.00",
                    "data": {},
                    "created_at": at,
                    "updated_at": at,
                }
            )
    with transaction(engine) as conn:
        registry.register(conn, "test", "st-01", "store-01")
        conn.execute(orders.insert(), rows)
    with read_only(engine) as conn:
        assert forecast.stores(conn) == ["store-01"]
        view = forecast.store_forecast(conn, "store-01", now)
    assert len(view["actual"]) == 48 and len(view["forecast"]) == 48
    assert view["forecast"][0]["hour"] == format_time(START + timedelta(weeks=3, hours=10))
    assert view["actual"][-2]["orders"] == round(truth(START + timedelta(weeks=3, hours=9)))
    for point in view["forecast"]:
        hour = datetime.fromisoformat(point["hour"])
        assert abs(point["expected"] - truth(hour)) <= 0.1 * truth(hour) + 1
