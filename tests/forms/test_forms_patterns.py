"""Patterns: linear-time matching on the server, one accepted syntax shared with the browser (issue 11.1)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from forms.definitions import load_definition
from forms.errors import DefinitionError
from forms.patterns import browser_safe, check_pattern, full_match
from forms.validation import validate_submission

# The shapes that make a backtracking engine take exponential time on "aaaa...!".
CATASTROPHIC = ["((a+))+$", "(a|a)+$", "(a+)+$", "(.*a){20}", "(a*)*b", "(a|aa)+$", "((a|b)*)*c", "(x+x+)+y",
                "(\\w+\\s?)+$", "([a-zA-Z]+)*$"]

ACCEPTED = ["ORD-[0-9]{6}", "PO-[0-9]{6}", "[A-Z]{3}-[0-9]+", "[a-z]+", "(ab|cd)[0-9]?", "\\+?[0-9 ()./-]+",
            "[\\w.-]+@[\\w-]+\\.[a-z]{2,}", "\\p{L}+( \\p{L}+)*", "[^,]{1,20}", "a.c", "\\d{2}\\s\\d{2}",
            "x\\x41y", "[a\\-z]", "\\(\\d+\\)", "\\bword\\b.*", "(?:ab)+?c", "[é-ü]+", "\\S+", "", "a{2,}",
            "\\$\\d+(\\.\\d{2})?", "[\\]\\[]"]
ACCEPTED = [p for p in ACCEPTED if p]  # an empty pattern is "no pattern", refused on its own

REFUSED = {
    "(a)\\1": "back-reference",
    "\\k<n>": "back-reference",
    "(?=a)a": "look-ahead",
    "(?!a)b": "look-ahead",
    "(?<=a)b": "look-behind",
    "(?<!a)b": "look-behind",
    "(?P<n>a)": "named group",
    "(?<n>a)": "named group",
    "(?i)abc": "(?:...)",
    "[[:alpha:]]": "POSIX",
    "[]a]": "empty",
    "a{,3}": "not a repetition",
    "{3}": "nothing before it",
    "a}": "lone }",
    "a]": "lone ]",
    "a**": "two repetitions",
    "^*": "nothing before it",
    "\\Aabc\\z": "\\A",
    "\\Qa.b\\E": "\\Q",
    "\\pL": "Unicode category",
    "\\p{Greek}": "Unicode category",
    "a{1001}": "more than 1000",
    "a{5,2}": "below its minimum",
    "[z-a]": "end comes before",
    "[\\d-z]": "range",
    "[\\S]": "\\S inside",
    "(ab": "never closed",
    "ab)": "never opened",
    "[ab": "never closed",
    "\\x4": "hexadecimal",
    "a\\": "lone \\",
    "\\-": "\\-",
}


def _form(pattern: str) -> dict:
    return {"schema_version": 1, "title": "T", "pages": [{"key": "p", "title": "P", "fields": [
        {"type": "short_text", "key": "code", "label": "Code", "pattern": pattern, "pattern_message": "Bad"}]}]}


@pytest.mark.timeout(20)
@pytest.mark.parametrize("pattern", CATASTROPHIC)
def test_catastrophic_shapes_are_checked_at_once(pattern: str) -> None:
    """Each shape is accepted (RE2 runs it in linear time) and a hostile value is answered, not hung on.

    With Python's backtracking `re`, 34 "a" and "!" take minutes for most of these; the timeout fails the
    test long before that.
    """
    schema = load_definition(_form(pattern))
    for value in ("a" * 34 + "!", "a" * 100_000 + "!", "ab" * 25_000 + "!"):
        assert full_match(pattern, value) is False
    assert schema.field("code").pattern == pattern
    assert not browser_safe(pattern), "a backtracking browser engine must not run it"


@pytest.mark.timeout(20)
def test_a_filing_with_a_catastrophic_pattern_gets_the_field_error() -> None:
    from forms.errors import SubmissionInvalid

    schema = load_definition(_form("((a+))+$"))
    with pytest.raises(SubmissionInvalid) as caught:
        validate_submission(schema, {"code": "a" * 34 + "!"})
    assert caught.value.errors == {"code": ["Bad"]}
    assert validate_submission(schema, {"code": "aaaa"})["code"] == "aaaa"


@pytest.mark.parametrize(("pattern", "fragment"), sorted(REFUSED.items()))
def test_constructs_outside_the_shared_syntax_are_refused_in_admin_words(pattern: str, fragment: str) -> None:
    with pytest.raises(ValueError, match="is not a valid regular expression here") as caught:
        check_pattern(pattern)
    assert fragment in str(caught.value)
    with pytest.raises(DefinitionError) as definition:
        load_definition(_form(pattern))
    assert definition.value.errors[0].message.startswith("The pattern is not a valid regular expression here")


def test_the_pattern_length_is_bounded() -> None:
    with pytest.raises(ValueError, match="at most 500"):
        check_pattern("a" * 501)


def test_the_pack_patterns_are_accepted_and_run_in_the_browser() -> None:
    root = Path(__file__).resolve().parents[2] / "packs"
    found = []
    for path in root.glob("*/form.json"):
        for page in json.loads(path.read_text())["pages"]:
            found += [f["pattern"] for f in page["fields"] if "pattern" in f]
    assert found
    for pattern in found:
        assert check_pattern(pattern) == pattern and browser_safe(pattern)


SAMPLES = ["", "a", "abc", "ORD-123456", "ORD-12345", "PO-000001", "ABC-12", "ab1", "cd", "+49 (0)30 123-45",
           "me@example.org", "Élise Müller", "Élise  Müller", "a,b", "abc", "a\nc", "a\u2028c", "12 34",
           "12\u00a034", "12\t34", "xAy", "-", "(42)", "word and more", "ababc", "éü", "no-space", "$12.50",
           "[", "]", "aaaa", "a" * 30 + "!", "aa"]


def test_the_browser_reads_every_accepted_pattern_the_same_way() -> None:
    """Every accepted pattern compiles as the browser's RegExp (u flag) and agrees with RE2 on samples."""
    patterns = [p for p in ACCEPTED + CATASTROPHIC if browser_safe(p)] + ["a.c", "\\s+"]
    script = (
        "const [patterns, samples] = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
        "console.log(JSON.stringify(patterns.map(p => { const re = new RegExp('^(?:' + p + ')$', 'u');"
        " return samples.map(s => re.test(s)); })));"
    )
    done = subprocess.run(["node", "-e", script], input=json.dumps([patterns, SAMPLES]), capture_output=True,
                          text=True, timeout=60, check=True)
    browser = json.loads(done.stdout)
    for pattern, answers in zip(patterns, browser, strict=True):
        server = [full_match(pattern, s) for s in SAMPLES]
        assert server == answers, pattern


def test_an_example_with_hashes_is_understood_as_digits() -> None:
    """`ORD-#####` used to be taken literally: every real order number was refused."""
    from forms.patterns import full_match, pattern_from_mask

    pattern = pattern_from_mask("ORD-#####")
    assert pattern == r"ORD-\d{5}" and check_pattern(pattern) == pattern
    assert full_match(pattern, "ORD-12345") and not full_match(pattern, "ORD-1234")
    assert not full_match(pattern, "ORD-#####")
    assert pattern_from_mask("AB.##") == r"AB\.\d{2}"
    assert pattern_from_mask("ORD-[0-9]{6}") is None and pattern_from_mask("plain text") is None
