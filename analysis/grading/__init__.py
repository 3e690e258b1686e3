"""Answer extraction and grading: `grade_response(response, gold, answer_type=...) -> Grade`.

See `grade` for the rules per answer type, `numbers` for number normalization, `extract` for where answers are
found, `latex` for the thread-safe symbolic comparison and `choices` for option letters.
"""

from analysis.grading.choices import parse_choice_letters, split_embedded_choices
from analysis.grading.extract import extract_answer, extract_boxed
from analysis.grading.grade import GRADER_VERSION, grade_response
from analysis.grading.numbers import format_number, parse_number, read_number

__all__ = [
    "GRADER_VERSION",
    "extract_answer",
    "extract_boxed",
    "format_number",
    "grade_response",
    "parse_choice_letters",
    "parse_number",
    "read_number",
    "split_embedded_choices",
]
