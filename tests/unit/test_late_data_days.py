"""Reading the day back from a day file's key (sparkify.late_data), for the message of a bucket with no new data."""

from __future__ import annotations

from datetime import date

from sparkify.late_data import day_of_key, newest_day_file, static_prefix

TEMPLATE = "log_data/%Y/%m/%Y-%m-%d-events.json"


def test_a_key_made_from_the_template_gives_its_day():
    assert day_of_key("log_data/2018/11/2018-11-30-events.json", TEMPLATE) == date(2018, 11, 30)


def test_keys_that_do_not_fit_the_template_give_none():
    assert day_of_key("log_data/2018/12/2018-11-30-events.json", TEMPLATE) is None  # the month differs
    assert day_of_key("log_data/2018/11/2018-11-31-events.json", TEMPLATE) is None  # no such day
    assert day_of_key("log_data/2018/11/notes.txt", TEMPLATE) is None
    assert day_of_key("log_data/2018/11/2018-11-30-events.json", "log_data/%Y/%m/%H.json") is None


def test_the_newest_day_file_is_by_date_not_by_listing_order():
    keys = ["log_data/2018/11/2018-11-30-events.json", "log_data/2019/01/2019-01-02-events.json", "log_data/x"]
    assert newest_day_file(keys, TEMPLATE) == (date(2019, 1, 2), "log_data/2019/01/2019-01-02-events.json")
    assert newest_day_file(["log_data/x"], TEMPLATE) is None
    assert static_prefix(TEMPLATE) == "log_data/"
