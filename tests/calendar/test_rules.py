"""The working-day rules of SPEC 3.4 against the 2026 calendar, counted by hand.

2026 as published by the State Council (checked against chinesecalendar 1.11 before writing):
- Spring Festival: Sun Feb 15 – Mon Feb 23 off; make-up workdays Sat Feb 14 and Sat Feb 28.
- Labour Day: Fri May 1 – Tue May 5 off; make-up workday Sat May 9.
- Mid-Autumn: Fri Sep 25 – Sun Sep 27 off.
- National Day: Thu Oct 1 – Wed Oct 7 off; make-up workdays SUN Sep 20 (not a Saturday) and
  Sat Oct 10.
"""
from datetime import date

import pytest

from service_hall.calendar.rules import Hold, outcome, snapshot
from service_hall.errors import ApiError
from tests.casework import seed_2026

D = date


@pytest.fixture()
def cal(app):
    seed_2026()
    return snapshot()


@pytest.mark.parametrize("accepted, n, due", [
    # Fri Feb 13 +5: Sat 14 (make-up) = 1; Feb 15–23 off; Tue 24 = 2, 25 = 3, 26 = 4, Fri 27 = 5
    (D(2026, 2, 13), 5, D(2026, 2, 27)),
    # … +6: Sat Feb 28 (make-up) = 6
    (D(2026, 2, 13), 6, D(2026, 2, 28)),
    # … +7: Sun Mar 1 is a weekend, Mon Mar 2 = 7
    (D(2026, 2, 13), 7, D(2026, 3, 2)),
    # Thu Feb 12 +2: Fri 13 = 1, Sat 14 (make-up) = 2
    (D(2026, 2, 12), 2, D(2026, 2, 14)),
    # Accepted on a holiday, Tue Feb 17 +1: Feb 18–23 off, Tue Feb 24 = 1
    (D(2026, 2, 17), 1, D(2026, 2, 24)),
    # Wed Apr 29 +3: Thu Apr 30 = 1; May 1–5 off; Wed May 6 = 2, Thu May 7 = 3
    (D(2026, 4, 29), 3, D(2026, 5, 7)),
    # … +5: Fri May 8 = 4, Sat May 9 (make-up) = 5
    (D(2026, 4, 29), 5, D(2026, 5, 9)),
    # … +6: Sun May 10 weekend, Mon May 11 = 6
    (D(2026, 4, 29), 6, D(2026, 5, 11)),
    # Fri Sep 18 +1: Sat 19 weekend, Sun Sep 20 (make-up) = 1
    (D(2026, 9, 18), 1, D(2026, 9, 20)),
    # Wed Sep 23 +5: Thu 24 = 1; Sep 25–27 off; Mon 28 = 2, 29 = 3, Wed 30 = 4; Oct 1–7 off;
    # Thu Oct 8 = 5
    (D(2026, 9, 23), 5, D(2026, 10, 8)),
    # … +7: Fri Oct 9 = 6, Sat Oct 10 (make-up) = 7
    (D(2026, 9, 23), 7, D(2026, 10, 10)),
    # Immediate items: 0 working days = the acceptance day
    (D(2026, 10, 3), 0, D(2026, 10, 3)),
    # Wed Dec 30 +1: Thu Dec 31 = 1 (still inside 2026)
    (D(2026, 12, 30), 1, D(2026, 12, 31)),
])
def test_due_on_across_holidays(cal, accepted, n, due):
    assert cal.due_on(accepted, n) == due


def test_working_days_are_counted_in_half_open_intervals(cal):
    # (Fri Feb 13, Fri Feb 27]: Sat 14, Tue 24, Wed 25, Thu 26, Fri 27 = 5
    assert cal.working_days(D(2026, 2, 13), D(2026, 2, 27)) == 5
    # (Sat Feb 14, Mon Feb 23]: all holidays = 0
    assert cal.working_days(D(2026, 2, 14), D(2026, 2, 23)) == 0
    # (Dec 31 2025, Jan 5 2026] needs 2025, which is not loaded
    with pytest.raises(ApiError) as missing:
        cal.working_days(D(2025, 12, 31), D(2026, 1, 5))
    assert missing.value.code == "calendar_missing"


@pytest.mark.parametrize("completed, elapsed, result", [
    # accepted Fri Feb 13, promised 5 (due Fri Feb 27)
    # (Feb 13, Feb 26]: Sat 14, Tue 24, Wed 25, Thu 26 = 4 < 5
    (D(2026, 2, 26), 4, "early"),
    # (Feb 13, Feb 27]: … + Fri 27 = 5 = 5
    (D(2026, 2, 27), 5, "on_time"),
    # (Feb 13, Feb 28]: … + Sat 28 (make-up) = 6 > 5
    (D(2026, 2, 28), 6, "overdue"),
    # (Feb 13, Mar 1]: Sun Mar 1 adds nothing = 6 > 5
    (D(2026, 3, 1), 6, "overdue"),
])
def test_outcome_across_spring_festival(cal, completed, elapsed, result):
    counted = cal.elapsed_working_days(D(2026, 2, 13), completed)
    assert counted == elapsed
    assert outcome(counted, 5) == result


def test_hold_spanning_spring_festival_pushes_due_date(cal):
    # Accepted Mon Feb 9, promised 5: without a hold Tue 10, 11, 12, 13, Sat 14 → due Feb 14.
    assert cal.due_on(D(2026, 2, 9), 5) == D(2026, 2, 14)
    # Hold (Thu Feb 12, Wed Feb 25]: Fri 13, Sat 14, Tue 24, Wed 25 = 4 (Feb 15–23 are holidays)
    hold = Hold(D(2026, 2, 12), D(2026, 2, 25))
    assert cal.held_working_days([hold], today=D(2026, 3, 1)) == 4
    # Due = 5 + 4 = 9th working day after Feb 9: 10, 11, 12, 13, 14, 24, 25, 26, Fri 27
    assert cal.due_with_holds(D(2026, 2, 9), 5, [hold], today=D(2026, 3, 1)) == D(2026, 2, 27)
    # Completed Thu Feb 26: (Feb 9, Feb 26] = 8 working days, minus 4 held = 4 < 5 → early
    assert cal.elapsed_working_days(D(2026, 2, 9), D(2026, 2, 26), [hold]) == 4
    # Completed Fri Feb 27: 9 − 4 = 5 → on time; Sat Feb 28 (make-up): 10 − 4 = 6 → overdue
    assert cal.elapsed_working_days(D(2026, 2, 9), D(2026, 2, 27), [hold]) == 5
    assert cal.elapsed_working_days(D(2026, 2, 9), D(2026, 2, 28), [hold]) == 6


def test_hold_spanning_labour_day_and_national_day(cal):
    # Accepted Mon Apr 27, promised 3, hold (Wed Apr 29, Wed May 6]: Thu Apr 30, Wed May 6 = 2.
    labour = Hold(D(2026, 4, 29), D(2026, 5, 6))
    # Due: 3 + 2 = 5th working day after Apr 27: 28, 29, 30, May 6, Thu May 7
    assert cal.due_with_holds(D(2026, 4, 27), 3, [labour], today=D(2026, 6, 1)) == D(2026, 5, 7)
    # Completed Fri May 8: (Apr 27, May 8] = 28, 29, 30, 6, 7, 8 = 6, minus 2 = 4 > 3 → overdue
    assert cal.elapsed_working_days(D(2026, 4, 27), D(2026, 5, 8), [labour]) == 4
    # Accepted Tue Sep 29, promised 3, hold (Wed Sep 30, Fri Oct 9]: Thu Oct 8, Fri Oct 9 = 2.
    national = Hold(D(2026, 9, 30), D(2026, 10, 9))
    # Due: 5th working day after Sep 29: Sep 30, Oct 8, Oct 9, Sat Oct 10 (make-up), Mon Oct 12
    assert cal.due_with_holds(D(2026, 9, 29), 3, [national], today=D(2026, 11, 1)) == D(2026, 10, 12)
    # Completed Sat Oct 10: (Sep 29, Oct 10] = Sep 30, Oct 8, 9, 10 = 4, minus 2 = 2 → early
    assert outcome(cal.elapsed_working_days(D(2026, 9, 29), D(2026, 10, 10), [national]), 3) == "early"


def test_open_hold_runs_to_today(cal):
    # Hold from Fri Sep 18, still open on Wed Sep 23: (Sep 18, Sep 23] = Sun 20, 21, 22, 23 = 4
    assert cal.held_working_days([Hold(D(2026, 9, 18))], today=D(2026, 9, 23)) == 4


def test_year_without_data_is_refused_never_guessed(cal):
    # Wed Dec 30 +2: Thu Dec 31 = 1, the 2nd working day would be in 2027, which has no data
    with pytest.raises(ApiError) as missing:
        cal.due_on(D(2026, 12, 30), 2)
    assert missing.value.status == 422 and missing.value.code == "calendar_missing"
    with pytest.raises(ApiError):
        cal.due_on(D(2027, 1, 4), 0)


def test_days_left_and_last_working_day(cal):
    # Due Fri Feb 27, today Tue Feb 24: (24, 27] = 25, 26, 27 = 3 left
    assert cal.working_days_left(D(2026, 2, 27), D(2026, 2, 24)) == 3
    # Due Fri Feb 13, today Tue Feb 24: (13, 24] = Sat 14, Tue 24 = 2 days late
    assert cal.working_days_left(D(2026, 2, 13), D(2026, 2, 24)) == -2
    # On Sun Feb 22 the latest working day is the make-up Saturday Feb 14
    assert cal.last_working_day(D(2026, 2, 22)) == D(2026, 2, 14)


def test_cache_follows_edits_made_by_another_process(cal):
    from sqlalchemy import text

    from service_hall.extensions import db
    assert cal.due_on(D(2026, 3, 2), 1) == D(2026, 3, 3)  # warms the per-process cache
    db.session.commit()  # end this transaction (SQLite: release the write lock)
    # Another process turns Tue Mar 3 into a holiday, in its own transaction …
    with db.engine.begin() as other:
        other.execute(text("UPDATE calendar_days SET kind = 'holiday' WHERE day = :d"),
                      {"d": D(2026, 3, 3)})
    # … without bumping the revision, this process keeps its cached working days,
    assert snapshot().due_on(D(2026, 3, 2), 1) == D(2026, 3, 3)
    db.session.commit()
    # and once the year's revision changes (as every edit does) it reloads the year.
    with db.engine.begin() as other:
        other.execute(text("UPDATE calendar_years SET revision = 'edited' WHERE year = 2026"))
    assert snapshot().due_on(D(2026, 3, 2), 1) == D(2026, 3, 4)
