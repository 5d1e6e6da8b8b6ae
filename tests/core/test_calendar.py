"""Working days: weekends and French public holidays excluded."""

from __future__ import annotations

from datetime import date

from services.core.calendar import add_working_days, is_working_day


def test_working_days_skip_weekends_and_french_public_holidays() -> None:
    assert is_working_day(date(2026, 4, 30))  # Thursday
    assert not is_working_day(date(2026, 5, 1))  # fête du Travail, a Friday
    assert not is_working_day(date(2026, 5, 2))  # Saturday
    assert not is_working_day(date(2026, 7, 14))
    assert not is_working_day(date(2026, 12, 25))
    assert not is_working_day(date(2026, 4, 6))  # lundi de Pâques
    assert add_working_days(date(2026, 4, 30), 1) == date(2026, 5, 4)
    assert add_working_days(date(2026, 5, 7), 2) == date(2026, 5, 12)  # 8 May is a holiday
