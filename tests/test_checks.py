from django_simple_queue.checks import check_settings


def test_no_messages_with_the_defaults():
    assert check_settings() == []


def test_use_tz_false_is_warned_about(settings):
    settings.USE_TZ = False
    assert [m.id for m in check_settings()] == ["django_simple_queue.W001"]


def test_a_string_allowlist_is_an_error(settings):
    settings.DJANGO_SIMPLE_QUEUE_ALLOWED_TASKS = "app.tasks.*"
    (message,) = check_settings()
    assert (message.id, message.msg) == (
        "django_simple_queue.E001",
        "DJANGO_SIMPLE_QUEUE_ALLOWED_TASKS must be a list of dotted paths or 'module.*'.",
    )


def test_old_sqlite_is_an_error(monkeypatch):
    from django_simple_queue import checks

    monkeypatch.setattr(checks.sqlite3, "sqlite_version_info", (3, 31, 1))
    monkeypatch.setattr(checks.sqlite3, "sqlite_version", "3.31.1")
    messages = checks.check_database(databases=["default"])
    from django.db import connection

    expected = ["django_simple_queue.E002"] if connection.vendor == "sqlite" else []
    assert [m.id for m in messages] == expected


def test_a_stale_after_shorter_than_three_heartbeats_is_an_error(settings):
    settings.DJANGO_SIMPLE_QUEUE_HEARTBEAT_INTERVAL = 10
    settings.DJANGO_SIMPLE_QUEUE_STALE_AFTER = 29
    (message,) = check_settings()
    assert (message.id, message.msg) == (
        "django_simple_queue.E003",
        "DJANGO_SIMPLE_QUEUE_STALE_AFTER must be at least three heartbeats (30 s): a live "
        "worker's tasks would be rescued and run twice.",
    )


def test_an_unknown_shutdown_policy_is_an_error(settings):
    settings.DJANGO_SIMPLE_QUEUE_ON_SHUTDOWN = "drop"
    (message,) = check_settings()
    assert (message.id, message.msg) == (
        "django_simple_queue.E004",
        "DJANGO_SIMPLE_QUEUE_ON_SHUTDOWN must be 'requeue' or 'fail', not 'drop'.",
    )


def test_an_unknown_outcome_log_level_is_an_error(settings):
    settings.DJANGO_SIMPLE_QUEUE_OUTCOME_LOG_LEVEL = "LOUD"
    (message,) = check_settings()
    assert (message.id, message.msg) == (
        "django_simple_queue.E005",
        "DJANGO_SIMPLE_QUEUE_OUTCOME_LOG_LEVEL 'LOUD' is not a logging level.",
    )
