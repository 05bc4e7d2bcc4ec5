"""bench/load.py's pieces that need no server: its arguments and its report (figures and exit status)."""

from bench.load import Client, Event, arguments, report


def test_the_load_defaults_are_fifty_users_for_two_minutes_on_four_gthread_workers():
    args = arguments([])
    assert (args.users, args.duration, args.workers, args.threads, args.port, args.keep_alive, args.keep) == (
        50, 120, 4, 2, 8765, 30, False)
    assert arguments(["--users", "5", "--keep"]).users == 5


def _client(name, *, latencies, events, saves, errors=()):
    client = Client(name, f"SZ-{name}", "http://127.0.0.1:8765", seed=0)
    client.latencies = list(latencies)
    client.events = {pk: Event(pk, {}) for pk in range(events)}
    client.saves, client.errors = saves, list(errors)
    return client


def test_the_report_counts_requests_saves_and_corrections_and_passes_a_clean_run(capsys):
    """Two clients, 6 requests in 2 s (4 saves: 3 new events and 1 correction): 3.0 requests/s, 2.0 saves/s, and
    exit status 0."""
    clients = [_client("a", latencies=[(0.010, False), (0.100, True), (0.200, True)], events=2, saves=3),
               _client("b", latencies=[(0.020, False), (0.300, True), (0.040, True)], events=1, saves=1)]
    status = report(clients, elapsed=2.0, lost=0, problems=[], setup="gunicorn -w 4", server_log="/tmp/x.log")
    printed = capsys.readouterr().out.splitlines()
    assert status == 0
    assert printed[0] == "gunicorn -w 4, 2 clients, 2 s"
    assert printed[1] == ("requests: 6 (4 saves: 3 new adverse events, 1 corrections with a reason), 3.0 requests/s, "
                          "2.0 saves/s")
    assert printed[2] == "errors: 0 (server log: /tmp/x.log)"
    assert printed[3] == "lost writes: 0 (of 4 saves checked against the rows and their history)"
    assert printed[5] == "latency, saves (POST): p50 100 ms, p95 300 ms, p99 300 ms, max 300 ms, mean 160 ms"


def test_an_error_or_a_lost_write_fails_the_run(capsys):
    failing = [_client("a", latencies=[(0.1, True)], events=1, saves=1, errors=["POST /x: HTTP 500"])]
    assert report(failing, elapsed=1.0, lost=0, problems=[], setup="s", server_log="l") == 1
    assert "  POST /x: HTTP 500" in capsys.readouterr().out
    clean = [_client("a", latencies=[(0.1, True)], events=1, saves=1)]
    assert report(clean, elapsed=1.0, lost=1, problems=["event 1 is missing"], setup="s", server_log="l") == 1
    assert "  event 1 is missing" in capsys.readouterr().out
