"""When a recorded listing of an S3 source may be reused, and what a listing is of."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from sparkify.s3copy.listing import is_recent, listing_source

NOW = datetime(2026, 11, 30, 12, 0, 0)


@pytest.mark.parametrize(
    ("listed", "max_age", "reused"),
    [
        (NOW - timedelta(minutes=14, seconds=59), timedelta(minutes=15), True),
        (NOW, timedelta(minutes=15), True),
        (NOW - timedelta(minutes=15), timedelta(minutes=15), False),  # exactly the max age: too old
        (NOW - timedelta(hours=2), timedelta(minutes=15), False),
        (NOW - timedelta(seconds=1), timedelta(0), False),  # 0: never reused
        (NOW + timedelta(minutes=1), timedelta(minutes=15), False),  # from a clock ahead of ours: list again
        (None, timedelta(minutes=15), False),
    ],
)
def test_a_listing_is_reused_only_while_younger_than_the_max_age(listed, max_age, reused):
    assert is_recent(listed, NOW, max_age) is reused


def test_the_source_names_every_uri_and_fits_its_column():
    assert listing_source(["s3://b/song_data/"]) == "s3://b/song_data/"
    assert listing_source(["s3://b/a/", "s3://b/c.json"]) == "s3://b/a/ s3://b/c.json"
    with pytest.raises(ValueError, match="at most 1,024"):
        listing_source(["s3://b/" + "k" * 1020])
