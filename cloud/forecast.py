"""Expected orders per hour for the next 48 hours, per store, from the order history.

The model is a seasonal decomposition with averages, chosen over Holt-Winters/ETS
(statsmodels) because a store's history is small (a few weeks of hourly counts), the
seasonal periods are known in advance (a day, a week), and the hub should not carry
SciPy and pandas for one chart. For each store it estimates, from the last ``weeks``
weeks of complete hours:

* the *level*: mean orders per day over the most recent 14 days (or fewer when the
  history is shorter), so a growing or shrinking store is followed;
* the *daily profile*: each hour of the day's share of a day's orders (mean over all
  days; 24 values that average 1);
* the *weekly profile*: each weekday's orders relative to the average day (7 values
  averaging 1; a weekday not seen yet counts as average).

The forecast for an hour is ``level / 24 × daily[hour] × weekly[weekday]``. Hours are UTC
hours; since the profiles are learned in the same hours, a store's local rhythm shows up
shifted but intact. With no history at all the forecast is zero.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, select

from cloud.schema import orders, stations
from edge.protocol import format_time

HOUR = timedelta(hours=1)
LEVEL_DAYS = 14


def hour_floor(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


@dataclass(frozen=True)
class SeasonalModel:
    level: float  # orders per day
    daily: tuple[float, ...]  # 24 factors averaging 1
    weekly: tuple[float, ...]  # 7 factors averaging 1 (Monday first)

    def expected(self, hour: datetime) -> float:
        return self.level / 24 * self.daily[hour.hour] * self.weekly[hour.weekday()]

    def predict(self, start: datetime, hours: int) -> list[tuple[datetime, float]]:
        first = hour_floor(start)
        return [(first + i * HOUR, self.expected(first + i * HOUR)) for i in range(hours)]


def fit(counts: Mapping[datetime, int], start: datetime, end: datetime) -> SeasonalModel:
    """Fit on hourly ``counts`` (hour → orders; hours missing from it had none) over the
    complete hours ``start`` ≤ hour < ``end``."""
    first, last = hour_floor(start), hour_floor(end)
    hours = []
    moment = first
    while moment < last:
        hours.append((moment, counts.get(moment, 0)))
        moment += HOUR
    if not hours or not any(n for _, n in hours):
        return SeasonalModel(0.0, (1.0,) * 24, (1.0,) * 7)
    by_day: dict[datetime, float] = {}
    for moment, n in hours:
        day = moment.replace(hour=0)
        by_day[day] = by_day.get(day, 0.0) + n
    # Whole days only for the level and the weekly profile (a partial day would read low).
    full_days = {
        day: total
        for day, total in by_day.items()
        if day >= first and day + timedelta(days=1) <= last
    } or by_day
    recent = sorted(full_days)[-LEVEL_DAYS:]
    level = sum(full_days[d] for d in recent) / len(recent)
    mean_day = sum(full_days.values()) / len(full_days)

    hour_sum, hour_days = [0.0] * 24, [0] * 24
    for moment, n in hours:
        hour_sum[moment.hour] += n
        hour_days[moment.hour] += 1
    hour_mean = [hour_sum[h] / hour_days[h] if hour_days[h] else 0.0 for h in range(24)]
    per_hour = sum(hour_mean) / 24
    daily = tuple(m / per_hour if per_hour else 1.0 for m in hour_mean)

    dow_sum, dow_n = [0.0] * 7, [0] * 7
    for day, total in full_days.items():
        dow_sum[day.weekday()] += total
        dow_n[day.weekday()] += 1
    weekly_raw = [
        (dow_sum[d] / dow_n[d]) / mean_day if dow_n[d] and mean_day else 1.0 for d in range(7)
    ]
    norm = sum(weekly_raw) / 7 or 1.0
    weekly = tuple(w / norm for w in weekly_raw)
    return SeasonalModel(level, daily, weekly)


def hourly_counts(
    conn: Connection, store: str, start: datetime, end: datetime
) -> dict[datetime, int]:
    """Orders per UTC hour placed at the store's stations, ``start`` ≤ created < ``end``."""
    hour = func.substr(orders.c.created_at, 1, 13)
    rows = conn.execute(
        select(hour, func.count())
        .select_from(orders.join(stations, stations.c.id == orders.c.station))
        .where(
            stations.c.store == store,
            orders.c.created_at >= format_time(start),
            orders.c.created_at < format_time(end),
        )
        .group_by(hour)
    ).all()
    return {datetime.fromisoformat(f"{h}:00:00+00:00"): int(n) for h, n in rows}


def stores(conn: Connection) -> list[str]:
    return list(
        conn.execute(
            select(stations.c.store).where(stations.c.store.is_not(None)).distinct()
        ).scalars()
    )


def store_forecast(
    conn: Connection,
    store: str,
    now: datetime | None = None,
    *,
    hours: int = 48,
    weeks: int = 8,
) -> dict[str, Any]:
    """``{"store", "model", "actual": [{"hour", "orders"}] (last ``hours`` hours, the
    current one included), "forecast": [{"hour", "expected"}] (from the current hour)}``."""
    moment = hour_floor(now or datetime.now(UTC))
    start = moment - timedelta(weeks=weeks)
    counts = hourly_counts(conn, store, start, moment + HOUR)
    model = fit(counts, start, moment)
    actual = [
        {"hour": format_time(h), "orders": counts.get(h, 0)}
        for h in (moment - (hours - 1 - i) * HOUR for i in range(hours))
    ]
    forecast = [
        {"hour": format_time(h), "expected": round(v, 2)} for h, v in model.predict(moment, hours)
    ]
    return {
        "store": store,
        "model": {"level_per_day": round(model.level, 2), "weekly": model.weekly},
        "actual": actual,
        "forecast": forecast,
    }
