import pytest

from django_simple_queue.worker.executor import _as_json, describe, execute

T = "tests.testapp.tasks."


def test_success_returns_the_json_result():
    outcome = execute(T + "add", {"a": 2, "b": 3})
    assert (outcome.status, outcome.result, outcome.error, outcome.traceback) == (
        "COMPLETED", 5, "", ""
    )  # fmt: skip


def test_async_callables_are_awaited():
    assert execute(T + "async_add", {"a": 2, "b": 3}).result == 5


def test_generator_values_are_collected():
    assert execute(T + "countdown", {"start": 3}).result == [3, 2, 1]


@pytest.mark.parametrize(
    ("name", "params", "error"),
    [
        ("os.system", {"command": "true"}, "TaskNotAllowed: Task 'os.system' is not allowed: "
         "it is never run."),
        (T + "missing", {}, "TaskNotFound: Task 'tests.testapp.tasks.missing': module "
         "'tests.testapp.tasks' has no attribute 'missing'."),
        ("tests.testapp.nomodule.f", {}, "TaskNotAllowed: Task 'tests.testapp.nomodule.f' is "
         "not allowed: add it to DJANGO_SIMPLE_QUEUE_ALLOWED_TASKS, define it in the tasks "
         "module of an installed app, or declare it with @task in an installed app."),
        (T + "add", {"a": 1}, "TypeError: add() missing 1 required positional argument: 'b'"),
        (T + "add", {"a": 1, "b": 2, "c": 3},
         "TypeError: add() got an unexpected keyword argument 'c'"),
        (T + "add", [1, 2], "TypeError: task_params must be a JSON object, not list"),
        (T + "returns_object", {}, "TypeError: The result cannot be stored as JSON: the "
         "return value is of type object, which is not JSON serialisable"),
        (T + "fail", {"message": "line one\nline two"}, "ValueError: line one line two"),
        (T + "fail", {"message": "ünïcödé ✓ 漢字"}, "ValueError: ünïcödé ✓ 漢字"),
        (T + "unprintable", {}, "unprintable.<locals>.Unprintable: <str() of the exception "
         "raised RuntimeError>"),
        (T + "exit_softly", {"status": 3}, "SystemExit: 3"),
        (T + "interrupt", {}, "KeyboardInterrupt: pressed by the task itself"),
    ],
)  # fmt: skip
def test_every_failure_is_a_failed_outcome(name, params, error):
    outcome = execute(name, params)
    assert (outcome.status, outcome.result, outcome.error) == ("FAILED", None, error)
    assert outcome.traceback.startswith("Traceback (most recent call last):")


def test_a_one_megabyte_message_keeps_its_full_traceback():
    message = "x" * 1_000_000
    outcome = execute(T + "fail", {"message": message})
    assert outcome.status == "FAILED"
    assert outcome.error == "ValueError: " + message
    assert outcome.traceback.endswith("ValueError: " + message + "\n")


def test_describe_uses_the_class_name_alone_for_an_empty_message():
    assert describe(KeyError()) == "KeyError"


def nested(levels):
    value = 1
    for _ in range(levels):
        value = [value]
    return value


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ("a\x00b", "the return value has text holding a NUL character, which the database "
         "cannot store"),
        (["caf\udce9"], "the return value[0] has text holding a lone surrogate, which the "
         "database cannot store"),
        ({"k\x00": 1}, "the return value has a key holding a NUL character, which the database "
         "cannot store"),
        (nested(32), "the return value" + "[0]" * 31 + " is nested deeper than 30 levels"),
        (10**4100, "the return value is an integer of more than 4000 digits"),
        (float("inf"), "the return value is inf, which JSON cannot represent"),
    ],
    ids=["nul", "surrogate", "nul-key", "deep", "huge-int", "inf"],
)  # fmt: skip
def test_results_the_database_cannot_store_are_refused_clearly(value, error):
    with pytest.raises(TypeError) as raised:
        _as_json(value)
    assert str(raised.value) == "The result cannot be stored as JSON: " + error


def test_thirty_levels_of_nesting_are_stored():
    assert _as_json(nested(30)) == nested(30)


def test_unstorable_text_in_an_error_is_spelt_out():
    outcome = execute(T + "fail", {"message": "nul\x00 and lone \udcff"})
    assert outcome.error == "ValueError: nul\\x00 and lone \\udcff"
    assert "\x00" not in outcome.traceback and "\udcff" not in outcome.traceback
