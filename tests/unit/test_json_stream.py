"""Tests of `iter_objects`: top-level JSON objects from a byte stream, with their line and position.

As in Redshift's stl_load_errors, the line of an object is the LAST line of the object, and
its position is where the object starts on its first line.
"""

from __future__ import annotations

import io
import json

import pytest

from local_stack.redshift.s3copy.errors import LoadError
from local_stack.redshift.s3copy.json_stream import LongInteger, ReadStats, iter_objects

KEY = "s3://udacity-dend/log_data/2018/11/2018-11-01-events.json"
CHUNK_SIZES = [1, 3, 7, 64, 1 << 20]


def objects(data: bytes, chunk_size: int = 1 << 20) -> list[tuple[dict, int, int]]:
    return list(iter_objects(io.BytesIO(data), KEY, chunk_size))


def load_error(data: bytes, chunk_size: int = 1 << 20) -> LoadError:
    with pytest.raises(LoadError) as info:
        objects(data, chunk_size)
    return info.value


chunk_sizes = pytest.mark.parametrize("chunk_size", CHUNK_SIZES)


def parser_says(text: str) -> str:
    """The running Python's wording for the first error in `text`: the loader passes it on as the
    reason, as Redshift passes on its own parser's, and the wording differs between Python versions."""
    with pytest.raises(json.JSONDecodeError) as info:
        json.loads(text)
    return info.value.msg


# --- layouts -----------------------------------------------------------------------------------


@chunk_sizes
def test_newline_delimited(chunk_size):
    data = (
        b'{"artist": "Des\'ree", "length": 246.30812, "ts": 1541106106796, "userId": "8", "ok": true}\n'
        b'{"artist": null, "length": null, "ts": 1541106352796, "userId": "", "ok": false}\n'
        b'{"artist": "Mr Oizo", "length": 144.03873, "ts": 1541106496796, "userId": "10", "ok": null}\n'
    )
    assert objects(data, chunk_size) == [
        ({"artist": "Des'ree", "length": 246.30812, "ts": 1541106106796, "userId": "8", "ok": True}, 1, 1),
        ({"artist": None, "length": None, "ts": 1541106352796, "userId": "", "ok": False}, 2, 1),
        ({"artist": "Mr Oizo", "length": 144.03873, "ts": 1541106496796, "userId": "10", "ok": None}, 3, 1),
    ]


@chunk_sizes
def test_no_trailing_newline(chunk_size):
    assert objects(b'{"a": 1}\n{"a": 2}', chunk_size) == [({"a": 1}, 1, 1), ({"a": 2}, 2, 1)]


@chunk_sizes
def test_several_objects_on_one_line(chunk_size):
    data = b'{"id": 2} {"id": 3}   {"id": 4}{"id": 5}\n'
    assert objects(data, chunk_size) == [
        ({"id": 2}, 1, 1),
        ({"id": 3}, 1, 11),
        ({"id": 4}, 1, 23),
        ({"id": 5}, 1, 32),
    ]


@chunk_sizes
def test_single_line_file_with_several_objects_and_no_newline(chunk_size):
    assert objects(b'{"a": 1}\t{"b": [1, {"c": 2}]}', chunk_size) == [
        ({"a": 1}, 1, 1),
        ({"b": [1, {"c": 2}]}, 1, 10),
    ]


@chunk_sizes
def test_pretty_printed_objects(chunk_size):
    data = (
        b"{\n"
        b'  "song_id": "SOMZWCG12A8C13C480",\n'
        b'  "duration": 218.93179,\n'
        b'  "year": 0\n'
        b"}\n"
        b"{\n"
        b'  "song_id": "SOCIWDW12A8C13D406",\n'
        b'  "duration": 148.03546,\n'
        b'  "year": 1969\n'
        b"}\n"
    )
    assert objects(data, chunk_size) == [
        ({"song_id": "SOMZWCG12A8C13C480", "duration": 218.93179, "year": 0}, 5, 1),
        ({"song_id": "SOCIWDW12A8C13D406", "duration": 148.03546, "year": 1969}, 10, 1),
    ]


# A file mixing every layout; the objects and their (last line, position), counted by hand.
MIXED = (
    b'{"id": 1, "name": "ascii"}\n'  # line 1
    b'{"id": 2} {"id": 3}   {"id": 4}\n'  # line 2
    b"\n"  # line 3
    b"{\n"  # line 4: id 5 starts
    b'  "id": 5,\n'
    b'  "nested": {"list": [1, 2, 3], "s": "a \\"quoted\\" word", "n": -12.5},\n'
    b'  "tail": "x"\n'
    b'}  {"id": 6}\n'  # line 8: id 5 ends
    b'    {"id": 7,\n'  # line 9
    b'  "more": 1541106106796}\n'  # line 10: id 7 ends
    b'{"id": 8, "flag": true, "none": null, "off": false}\n'  # line 11
    b"\n\n"
)
MIXED_EXPECTED = [
    ({"id": 1, "name": "ascii"}, 1, 1),
    ({"id": 2}, 2, 1),
    ({"id": 3}, 2, 11),
    ({"id": 4}, 2, 23),
    ({"id": 5, "nested": {"list": [1, 2, 3], "s": 'a "quoted" word', "n": -12.5}, "tail": "x"}, 8, 1),
    ({"id": 6}, 8, 4),
    ({"id": 7, "more": 1541106106796}, 10, 5),
    ({"id": 8, "flag": True, "none": None, "off": False}, 11, 1),
]


@chunk_sizes
def test_mixed_layouts_line_and_position(chunk_size):
    assert objects(MIXED, chunk_size) == MIXED_EXPECTED


def test_mixed_layouts_identical_for_every_chunk_size():
    results = {size: objects(MIXED, size) for size in [*CHUNK_SIZES, 2, 5, 11, 13, 17, 31]}
    assert all(result == MIXED_EXPECTED for result in results.values()), results


@chunk_sizes
def test_many_lines(chunk_size):
    records = [{"n": i, "text": "x" * (i % 13), "nested": {"i": [i, -i]}} for i in range(300)]
    data = "".join(json.dumps(r) + "\n" for r in records).encode()
    assert objects(data, chunk_size) == [(r, i + 1, 1) for i, r in enumerate(records)]


@chunk_sizes
def test_multi_line_object_reports_its_last_line_and_its_first_position(chunk_size):
    data = b'{"a": 1}   {"b":\n\n  2\n}   {"c":\n3}\n'
    assert objects(data, chunk_size) == [({"a": 1}, 1, 1), ({"b": 2}, 4, 12), ({"c": 3}, 5, 5)]


# Literals, numbers and escapes that a small read can cut in the middle.
CUT_VALUES = (
    b"{\n"
    b'  "t": true,\n'
    b'  "f": false,\n'
    b'  "n": null,\n'
    b'  "e": -1.5e+3,\n'
    b'  "E": 25E-1,\n'
    b'  "u": "caf\\u00e9 \\ud83c\\udfb5",\n'
    b'  "q": "back\\\\slash \\"quote\\" \\/ \\n",\n'
    b'  "l": [0, -0.25, 12345678901234]\n'
    b"}\n"
)
CUT_EXPECTED = {
    "t": True,
    "f": False,
    "n": None,
    "e": -1500.0,
    "E": 2.5,
    "u": "caf\u00e9 \U0001f3b5",
    "q": 'back\\slash "quote" / \n',
    "l": [0, -0.25, 12345678901234],
}


@pytest.mark.parametrize("chunk_size", [*CHUNK_SIZES, 2, 4, 5, 6, 8, 9, 10, 11, 13])
def test_values_cut_at_every_read_boundary(chunk_size):
    assert objects(CUT_VALUES + CUT_VALUES, chunk_size) == [(CUT_EXPECTED, 10, 1), (CUT_EXPECTED, 20, 1)]


@chunk_sizes
def test_utf8_multibyte_characters_across_chunk_boundaries(chunk_size):
    data = (
        '{"artist": "Beyoncé", "city": "東京", "note": "🎵 ünïcødé"}\n'
        '{"artist": "Sigur Rós",\n "title": "Hoppípolla – 𝄞"}\n'
    ).encode()
    assert objects(data, chunk_size) == [
        ({"artist": "Beyoncé", "city": "東京", "note": "🎵 ünïcødé"}, 1, 1),
        ({"artist": "Sigur Rós", "title": "Hoppípolla – 𝄞"}, 3, 1),
    ]


def test_utf8_results_identical_for_every_chunk_size():
    data = '{"a": "é"} {"b": "日本語"}\n{"c": "🎵🎵"}{"d": "ß"}\n'.encode()
    expected = objects(data)
    assert [o for o, _, _ in expected] == [{"a": "é"}, {"b": "日本語"}, {"c": "🎵🎵"}, {"d": "ß"}]
    for size in [1, 2, 3, 4, 5, 7, 64]:
        assert objects(data, size) == expected, size


@chunk_sizes
def test_crlf_line_endings(chunk_size):
    data = b'{"a": 1}\r\n{"b": 2}\r\n  {"c": 3}\r\n{\r\n  "d": 4\r\n}\r\n{"e": 5} {"f": 6}\r\n'
    assert objects(data, chunk_size) == [
        ({"a": 1}, 1, 1),
        ({"b": 2}, 2, 1),
        ({"c": 3}, 3, 3),
        ({"d": 4}, 6, 1),
        ({"e": 5}, 7, 1),
        ({"f": 6}, 7, 10),
    ]


@chunk_sizes
def test_empty_file(chunk_size):
    assert objects(b"", chunk_size) == []


@chunk_sizes
@pytest.mark.parametrize("data", [b" ", b"\n", b"\r\n\r\n", b"  \t \n\n \t\r\n   "])
def test_whitespace_only_file(chunk_size, data):
    assert objects(data, chunk_size) == []


@chunk_sizes
def test_leading_and_trailing_whitespace(chunk_size):
    assert objects(b'\n\n   \t{"a": 1}  \n\n', chunk_size) == [({"a": 1}, 3, 5)]


def test_empty_object_and_duplicate_keys():
    assert objects(b'{}\n{"a": 1, "a": 2}\n') == [({}, 1, 1), ({"a": 2}, 2, 1)]


def test_is_lazy():
    """Objects come out one at a time, not after reading the whole stream."""
    stream = io.BytesIO(b'{"a": 1}\n' * 1000)
    iterator = iter_objects(stream, KEY, 64)
    assert next(iterator) == ({"a": 1}, 1, 1)
    assert stream.tell() <= 128


# --- errors ------------------------------------------------------------------------------------


@chunk_sizes
def test_malformed_json_mid_file(chunk_size):
    error = load_error(b'{"a": 1}\n{"b": 2,, "c": 3}\n{"c": 3}\n', chunk_size)
    assert (error.key, error.line, error.position) == (KEY, 2, 9)
    assert error.reason == "Invalid JSON: " + parser_says('{"b": 2,, "c": 3}')
    assert error.raw_value == '{"b": 2,, "c": 3}'
    assert str(error) == f'{KEY} line 2, position 9, raw value \'{{"b": 2,, "c": 3}}\': {error.reason}'


@chunk_sizes
def test_malformed_json_after_objects_on_the_same_line(chunk_size):
    error = load_error(b'{"a": 1}\n{"b": 1} {"b": [1, 2}\n{"c": 3}\n', chunk_size)
    assert (error.key, error.line, error.position) == (KEY, 2, 21)
    assert error.reason == "Invalid JSON: " + parser_says("[1, 2}")


@chunk_sizes
def test_malformed_json_inside_a_pretty_printed_object(chunk_size):
    data = b'{"a": 1}\n{\n  "b": 2\n  "c": 3\n}\n{"d": 4}\n'
    error = load_error(data, chunk_size)
    assert (error.key, error.line, error.position) == (KEY, 4, 3)
    assert error.reason == "Invalid JSON: " + parser_says('{"b": 2 "c": 3}')
    assert error.raw_value == '  "c": 3'


@chunk_sizes
def test_unquoted_name(chunk_size):
    error = load_error(b'{"a": 1}\n\n{a: 1}\n{"b": 2}\n', chunk_size)
    assert (error.line, error.position) == (3, 2)
    assert error.reason == "Invalid JSON: " + parser_says("{a: 1}")


@chunk_sizes
@pytest.mark.parametrize(
    ("data", "line", "position", "raw"),
    [
        (b'{"a": 1}\n{"b": [1, 2', 2, 1, '{"b": [1, 2'),
        (b'{"a": 1}\n{"b": "unterminated', 2, 1, '{"b": "unterminated'),
        (b'{"a": 1}\n  {"b": {"c": 1}', 2, 3, '{"b": {"c": 1}'),
        (b'{"a": 1}\n{\n  "b": 1,\n', 2, 1, '{\n  "b": 1,\n'),
        (b'{"a": 1} {', 1, 10, "{"),
    ],
)
def test_truncated_last_object(chunk_size, data, line, position, raw):
    error = load_error(data, chunk_size)
    assert (error.key, error.line, error.position) == (KEY, line, position)
    assert error.reason == "Invalid JSON: the last object is truncated (end of file inside a value)"
    assert error.raw_value == raw


@chunk_sizes
@pytest.mark.parametrize(
    ("data", "line", "position", "raw"),
    [
        (b'{"a": 1}\n[1, 2]\n', 2, 1, "[1, 2]"),
        (b'{"a": 1}\n  [{"a": 1}] \n', 2, 3, '[{"a": 1}] '),
        (b'[\n  {"a": 1}\n]\n', 1, 1, '[\n  {"a": 1}\n]'),
        (b'{"a": 1} []', 1, 10, "[]"),
    ],
)
def test_top_level_array(chunk_size, data, line, position, raw):
    error = load_error(data, chunk_size)
    assert (error.key, error.line, error.position) == (KEY, line, position)
    assert error.reason == "Top-level JSON value is an array; each record must be a JSON object"
    assert error.raw_value == raw


@chunk_sizes
@pytest.mark.parametrize(
    ("data", "line", "position"),
    [
        (b'{"a": 1}\n42\n', 2, 1),
        (b'{"a": 1}\n  "text"\n', 2, 3),
        (b'{"a": 1}\n1.5\n', 2, 1),
        (b'{"a": 1}\ntrue\n', 2, 1),
        (b'{"a": 1} false', 1, 10),
        (b'{"a": 1}\n\n-7', 3, 1),
    ],
)
def test_top_level_scalar(chunk_size, data, line, position):
    error = load_error(data, chunk_size)
    assert (error.key, error.line, error.position) == (KEY, line, position)
    assert error.reason.startswith("Top-level JSON value is")
    assert error.reason.endswith("; each record must be a JSON object")
    assert "array" not in error.reason


@pytest.mark.parametrize(
    ("data", "kind"),
    [(b"42\n", "a number"), (b'"x"\n', "a string"), (b"1.5\n", "a number"), (b"true\n", "a boolean")],
)
def test_top_level_scalar_names_its_type(data, kind):
    assert kind in load_error(data).reason


@chunk_sizes
def test_invalid_utf8(chunk_size):
    error = load_error(b'{"a": 1}\n{"b": "x\xff"}\n{"c": 3}\n', chunk_size)
    assert (error.key, error.line, error.position) == (KEY, 2, 9)
    assert error.reason == "String contains invalid UTF-8 (invalid start byte). Bad UTF-8 hex sequence: ff"


@chunk_sizes
def test_invalid_utf8_continuation_byte(chunk_size):
    error = load_error(b'{"a": "ok"}\n{"b": "\xc3("}\n', chunk_size)
    assert (error.key, error.line, error.position) == (KEY, 2, 8)
    assert error.reason == "String contains invalid UTF-8 (invalid continuation byte). Bad UTF-8 hex sequence: c3"


@chunk_sizes
def test_invalid_utf8_on_the_first_line(chunk_size):
    error = load_error(b'{"b": "\xe9t\xe9"}\n', chunk_size)
    assert (error.key, error.line, error.position) == (KEY, 1, 8)
    assert error.reason.startswith("String contains invalid UTF-8")


@chunk_sizes
def test_utf8_sequence_cut_by_end_of_file(chunk_size):
    error = load_error(b'{"a": 1}\n{"b": "\xe6\x97', chunk_size)
    assert (error.key, error.line) == (KEY, 2)
    assert error.reason.startswith("String contains invalid UTF-8")


@chunk_sizes
@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_rejected(chunk_size, constant):
    data = b'{"a": 1}\n{"a": ' + constant.encode() + b"}\n"
    error = load_error(data, chunk_size)
    assert (error.key, error.line, error.position) == (KEY, 2, 1)
    assert error.reason == f"Invalid JSON: {constant} is not valid JSON"


def test_errors_name_the_key_given():
    with pytest.raises(LoadError) as info:
        list(iter_objects(io.BytesIO(b"[1]\n"), "s3://bucket/other.json"))
    assert info.value.key == "s3://bucket/other.json"
    assert str(info.value).startswith("s3://bucket/other.json line 1, position 1")


@pytest.mark.parametrize("chunk_size", [1, 7, 1 << 20])
@pytest.mark.parametrize(
    ("data", "line", "reason"),
    [
        (b"null\n", 1, "Top-level JSON value is null; each record must be a JSON object"),
        (b'{"a": 1}\nnull', 2, "Top-level JSON value is null; each record must be a JSON object"),
        (b'{"a": 1}\n"x"\n', 2, "Top-level JSON value is a string; each record must be a JSON object"),
        (b'{"a": 1}\n{"b": [1, 2}\n', 2, "Invalid JSON: " + parser_says("[1, 2}")),
    ],
)
def test_regressions_near_the_end_of_a_file(data, line, reason, chunk_size):
    with pytest.raises(LoadError) as error:
        list(iter_objects(io.BytesIO(data), "s3://b/k", chunk_size))
    assert (error.value.line, error.value.reason) == (line, reason)


@pytest.mark.parametrize(
    ("data", "line", "position"),
    [
        (b'{"a": 1}\n\n  {"b": "\xc3("}\n', 3, 10),
        (b'{\n"a": 1} {"b": "x\xff"}\n', 2, 17),
        (b'{"a": 1}\n{"b": "\xc3\xa9\xc3\xa9\xff"}\n', 2, 10),
    ],
)
def test_invalid_utf8_position_does_not_depend_on_chunk_size(data, line, position):
    places = set()
    for chunk_size in (1, 3, 7, 64, 1 << 20):
        with pytest.raises(LoadError) as error:
            list(iter_objects(io.BytesIO(data), KEY, chunk_size))
        places.add((error.value.line, error.value.position))
    assert places == {(line, position)}


@chunk_sizes
def test_acceptinvchars_replaces_each_invalid_byte(chunk_size):
    data = b'{"a": "x\xff\xfey"}\n{"b": "\xe6\x97z", "c": "\xc3\xa9"}\n'
    objects = [obj for obj, _, _ in iter_objects(io.BytesIO(data), KEY, chunk_size, invalid_char_replacement="?")]
    assert objects == [{"a": "x??y"}, {"b": "??z", "c": "\u00e9"}]


# --- bounded time and memory -------------------------------------------------------------------

RECORD = b'{"artist": "Muse", "auth": "Logged In", "itemInSession": 0, "length": 218.93179, "ts": 1541106106796}'


def one_line(size: int) -> bytes:
    """Objects concatenated on one line, with no newline: about `size` bytes."""
    return b" ".join([RECORD] * (size // (len(RECORD) + 1)))


def work(data: bytes, chunk_size: int = 1 << 20) -> tuple[int, int]:
    """(objects read, characters searched, parsed or copied on the way)."""
    stats = ReadStats()
    count = sum(1 for _ in iter_objects(io.BytesIO(data), KEY, chunk_size, stats=stats))
    return count, stats.work


@pytest.mark.parametrize("chunk_size", [4096, 1 << 16, 1 << 20])
@pytest.mark.parametrize(
    "layout",
    [
        pytest.param(one_line, id="one-line"),
        pytest.param(lambda size: one_line(size) + b"\n", id="one-line-then-newline"),
        pytest.param(lambda size: (RECORD + b"\n") * (size // (len(RECORD) + 1)), id="ndjson"),
        pytest.param(
            lambda size: (RECORD.replace(b", ", b",\n  ") + b"\n") * (size // (len(RECORD) + 5)), id="pretty-printed"
        ),
        pytest.param(lambda size: b'{"s": "' + b"x" * (3 << 20) + b'"} ' + one_line(size), id="big-object-first"),
    ],
)
def test_work_is_linear_in_the_size_of_the_input(layout, chunk_size):
    """Each character is searched, parsed and copied a bounded number of times (it was quadratic on one line)."""
    small, large = layout(1 << 20), layout(4 << 20)
    (small_count, small_work), (large_count, large_work) = work(small, chunk_size), work(large, chunk_size)
    assert small_count > 0 and large_count > 3 * small_count
    assert small_work <= 12 * len(small), small_work / len(small)
    assert large_work <= 12 * len(large), large_work / len(large)


def test_a_long_line_is_read_object_by_object_within_the_object_limit():
    """The reader never buffers more than a read plus one object, however long the line."""
    data = one_line(12 << 20)
    reads = []

    class Stream(io.BytesIO):
        def read(self, size=-1):
            reads.append(size)
            return super().read(size)

    count = sum(1 for _ in iter_objects(Stream(data), KEY, 1 << 20, max_object_bytes=1 << 20))
    assert count == data.count(b"{")
    assert max(reads) <= 2 << 20


# --- Redshift's limit on the size of one object -------------------------------------------------


def sized_object(size: int, char: str = "x") -> bytes:
    """An object of exactly `size` bytes in UTF-8."""
    head, tail = b'{"s": "', b'"}'
    room, width = size - len(head) - len(tail), len(char.encode())
    return head + (char * (room // width) + "x" * (room % width)).encode() + tail


@pytest.mark.parametrize("chunk_size", [1 << 16, 1 << 20])
@pytest.mark.parametrize("after", [b"\n", b"", b' {"a": 1}'])
def test_an_object_of_4_mb_loads(chunk_size, after):
    data = b'{"a": 0}\n' + sized_object(4 << 20) + after
    assert [len(o.get("s", "")) for o, _, _ in objects(data, chunk_size)][:2] == [0, (4 << 20) - 9]


@pytest.mark.parametrize("chunk_size", [1 << 16, 1 << 20])
@pytest.mark.parametrize("after", [b"\n", b"", b' {"a": 1}'])
@pytest.mark.parametrize("char", ["x", "\u00e9", "\u6771"])
def test_an_object_over_4_mb_fails_the_load_with_its_place(chunk_size, after, char):
    size = (4 << 20) + 3 * len(char.encode())
    data = b'{"a": 0}\n  ' + sized_object(size, char) + after
    error = load_error(data, chunk_size)
    assert (error.key, error.line, error.position) == (KEY, 2, 3)
    assert error.reason.startswith("JSON object or array too large: ")
    assert error.reason.endswith(
        "more than the maximum of 4194304 bytes (4 MB) for a single JSON object or array, including braces or brackets"
    )
    assert error.raw_value.startswith('{"s": "')


def test_an_endless_object_fails_once_it_passes_the_limit():
    """A value that never ends (a gzip bomb of one string) is not read further than the limit."""

    class Endless(io.RawIOBase):
        served = 0

        def readable(self):
            return True

        def read(self, size=-1):
            self.served += size
            return b'{"s": "' if self.served == size else b"x" * size

    stream = Endless()
    error = load_error_from(stream)
    assert error.reason == (
        "JSON object or array too large: more than 4194304 bytes, more than the maximum of 4194304 bytes (4 MB) "
        "for a single JSON object or array, including braces or brackets"
    )
    assert stream.served <= 12 << 20


def load_error_from(stream) -> LoadError:
    with pytest.raises(LoadError) as info:
        list(iter_objects(stream, KEY))
    return info.value


# --- values the parsers cannot hold --------------------------------------------------------------


def nested(depth: int) -> bytes:
    return b'{"a": ' + b"[" * depth + b"1" + b"]" * depth + b', "s": "]["}'


@pytest.mark.parametrize("chunk_size", [7, 64, 1 << 20])
@pytest.mark.parametrize("separator", [b"\n", b" ", b"\n\n  "])
def test_nesting_too_deep_to_parse_is_a_reject_and_the_next_objects_load(chunk_size, separator):
    data = b'{"a": 1}' + separator + nested(5000) + separator + b'{"a": 2}\n'
    rejects = []
    loaded = list(iter_objects(io.BytesIO(data), KEY, chunk_size, on_reject=rejects.append))
    assert [o for o, _, _ in loaded] == [{"a": 1}, {"a": 2}]
    (reject,) = rejects
    line = 1 + separator.count(b"\n")
    position = len(separator) - separator.rfind(b"\n") if b"\n" in separator else len(b'{"a": 1}') + 2
    assert (reject.key, reject.line, reject.position) == (KEY, line, position)
    assert reject.reason.startswith("JSON value nested 5001 levels deep, more than the 1024 levels the loader allows")
    assert reject.raw_value.startswith('{"a": [[[')


def test_nesting_too_deep_without_a_reject_handler_fails_the_load():
    assert load_error(nested(3000) + b"\n").reason.startswith("JSON value nested 3001 levels deep")


def test_nesting_that_orjson_and_json_parse_loads():
    assert objects(nested(200) + b"\n" + nested(200))[1][0]["s"] == "]["


@pytest.mark.parametrize("chunk_size", [7, 1 << 20])
@pytest.mark.parametrize("separator", [b"\n", b" "])
def test_an_integer_too_long_for_int_is_kept_as_its_digits(chunk_size, separator):
    digits = "9" * 5000
    data = b'{"a": 1}' + separator + b'{"n": ' + digits.encode() + b', "m": [-' + digits.encode() + b"]}\n"
    (first, _, _), (second, line, _) = objects(data, chunk_size)
    assert first == {"a": 1}
    assert second == {"n": digits, "m": ["-" + digits]}
    assert isinstance(second["n"], LongInteger) and isinstance(second["m"][0], LongInteger)
    assert line == 1 + separator.count(b"\n")
