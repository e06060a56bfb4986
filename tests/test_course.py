"""`workbench.course.check`: the exercise checks of the notebooks say ✓ or ✗ and never raise."""

from workbench.course import check


def test_a_passing_check_prints_its_praise(capsys):
    assert check(2 + 2 == 4, "Four.", "Add again.") is None
    assert capsys.readouterr().out == "✓ Four.\n"


def test_a_failing_check_prints_the_hint(capsys):
    check([], "Non-empty.", "Put something in the list.")
    assert capsys.readouterr().out == "✗ Not yet: Put something in the list.\n"


def test_an_answer_that_raises_is_not_yet_right_and_says_why(capsys):
    def unfinished():
        raise NotImplementedError("write the loss")

    check(unfinished, "Done.", "Finish the function.")
    assert capsys.readouterr().out == "✗ Not yet: Finish the function. (NotImplementedError: write the loss)\n"
    check(lambda: True, "Callable passed.", "unused")
    assert capsys.readouterr().out == "✓ Callable passed.\n"
