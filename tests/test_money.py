"""Money: formatting, parsing and the Decimal edges."""

from decimal import Decimal

import pytest

from app.money import MAX_GROSZE, format_money, from_decimal, parse_money, to_decimal


@pytest.fixture
def clean_db():
    """Pure domain code: no database to wipe (shadows conftest's autouse fixture)."""


@pytest.mark.parametrize(
    ("grosze", "text"),
    [
        (0, "0,00 zł"),
        (5, "0,05 zł"),
        (99, "0,99 zł"),
        (12345, "123,45 zł"),
        (123456, "1 234,56 zł"),
        (100000, "1 000,00 zł"),
        (100000000, "1 000 000,00 zł"),
        (-123456, "-1 234,56 zł"),
        (-5, "-0,05 zł"),
    ],
)
def test_format_money(grosze, text):
    assert format_money(grosze) == text


@pytest.mark.parametrize("value", [1.5, Decimal("1.50"), "150", True])
def test_format_money_takes_only_int_grosze(value):
    with pytest.raises(TypeError):
        format_money(value)


@pytest.mark.parametrize(
    ("text", "grosze"),
    [
        ("123,45", 12345),
        ("123.45", 12345),
        ("1 234,56", 123456),
        ("1\u00a0234,56", 123456),
        ("1 000 000", 100000000),
        ("1234", 123400),
        ("79,9", 7990),
        ("0,01", 1),
        ("  42  ", 4200),
        ("79,99 zł", 7999),
        ("0", 0),
    ],
)
def test_parse_money(text, grosze):
    assert parse_money(text) == grosze


@pytest.mark.parametrize(
    "text",
    ["", "   ", "abc", "12,3,4", "12 34", "1.234,56", "1,", ",50", "12zł34", "1e3", "NaN"],
)
def test_parse_money_rejects_garbage_in_polish(text):
    with pytest.raises(ValueError, match="Podaj kwotę w złotych"):
        parse_money(text)


def test_parse_money_rejects_three_decimals():
    with pytest.raises(ValueError, match="dwie cyfry po przecinku"):
        parse_money("12,345")


def test_parse_money_rejects_negative():
    with pytest.raises(ValueError, match="ujemna"):
        parse_money("-5,00")


def test_parse_money_rejects_absurd_amounts():
    assert parse_money(format_money(MAX_GROSZE).removesuffix(" zł")) == MAX_GROSZE
    with pytest.raises(ValueError, match="zbyt duża"):
        parse_money("99999999999")


@pytest.mark.parametrize("grosze", [0, 1, 99, 100, 7999, 123456, 987654321])
def test_format_then_parse_round_trips(grosze):
    assert parse_money(format_money(grosze)) == grosze


def test_to_decimal_is_exact_with_two_places():
    assert to_decimal(12345) == Decimal("123.45")
    assert str(to_decimal(100)) == "1.00"
    assert to_decimal(-5) == Decimal("-0.05")


@pytest.mark.parametrize(
    ("value", "grosze"),
    [
        (Decimal("123.45"), 12345),
        (Decimal("0.005"), 1),
        (Decimal("0.0049"), 0),
        (Decimal("-0.005"), -1),
        (Decimal("79.9"), 7990),
        (12, 1200),
    ],
)
def test_from_decimal_rounds_half_up(value, grosze):
    assert from_decimal(value) == grosze


def test_decimal_round_trip():
    for grosze in (0, 1, -1, 7999, 10**12):
        assert from_decimal(to_decimal(grosze)) == grosze


def test_from_decimal_refuses_float_and_nan():
    with pytest.raises(TypeError):
        from_decimal(79.99)
    with pytest.raises(ValueError):
        from_decimal(Decimal("NaN"))
