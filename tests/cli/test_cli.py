"""The rensei command as a user runs it: a real process, real exit codes, real output."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent.parent
EXAMPLE = ROOT / "examples" / "route-by-severity.yaml"
INVALID = ROOT / "tests" / "fixtures" / "dsl" / "invalid"


def rensei(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_validate_valid_files_exits_zero() -> None:
    done = rensei("validate", str(EXAMPLE))
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout == ""
    assert "1 file(s) valid" in done.stderr


def test_validate_prints_one_line_per_problem_on_stdout() -> None:
    done = rensei("validate", "structure.yaml", "expressions.yaml", cwd=INVALID)
    assert done.returncode == 1
    expected = (INVALID / "structure.expected").read_text() + (
        INVALID / "expressions.expected"
    ).read_text()
    assert done.stdout == expected


def test_validate_shows_warnings_without_failing(tmp_path: Path) -> None:
    (tmp_path / "echo.yaml").write_text(
        "trigger:\n  type: trigger.incident_io.incident.updated\nsteps:\n"
        "  - id: note\n    type: incident_io.timeline.add_event\n    inputs:\n"
        '      incidentId: "{{ $trigger.incident_io.incident_id }}"\n'
        "      eventType: custom\n      title: changed\n"
    )
    done = rensei("validate", "echo.yaml", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("echo.yaml:2:9: warning: this definition runs on every change")
    assert "1 file(s) valid, 1 warning(s)" in done.stderr


def test_validate_a_missing_file_is_a_problem() -> None:
    done = rensei("validate", "nope.yaml")
    assert done.returncode == 1
    assert done.stdout.startswith("nope.yaml:1:1: cannot read the file")


def test_run_sandbox_takes_the_sev1_branch() -> None:
    done = rensei(
        "run", str(EXAMPLE), "--event", str(ROOT / "examples" / "events" / "sev1.json"), "--sandbox"
    )
    assert done.returncode == 0, done.stderr
    outcome = json.loads(done.stdout)
    assert outcome["status"] == "completed"
    assert outcome["error"] is None
    assert {s["id"]: s["status"] for s in outcome["steps"]} == {
        "triage": "completed",
        "wake_exec": "completed",
        "call_agent": "completed",
        "open_ticket": "skipped",
        "note": "completed",
    }
    assert [set(s) >= {"id", "type", "status", "output"} for s in outcome["steps"]] == [True] * 5
    # stdout is the JSON alone; stderr one line for people, no server banner
    assert done.stderr.splitlines() == [
        "rensei run: route-by-severity completed (4 completed, 1 skipped)"
    ]


def test_run_sandbox_verbose_shows_the_servers(tmp_path: Path) -> None:
    event = ROOT / "examples" / "events" / "sev3.json"
    done = rensei("run", str(EXAMPLE), "--event", str(event), "--sandbox", "--verbose")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["status"] == "completed"
    assert "Temporal Server" in done.stderr


def test_run_accepts_a_raw_webhook_body(tmp_path: Path) -> None:
    body = {
        "event_type": "public_incident.incident_created_v2",
        "public_incident.incident_created_v2": {
            "id": "01FDAG4SAP5TYPT98WGR2N7W91",
            "reference": "INC-7",
            "name": "Queue backlog",
            "severity": {"id": "01S", "name": "Minor", "rank": 1},
            "incident_status": {"id": "01T", "name": "Triage", "category": "triage"},
            "custom_field_entries": [],
            "incident_role_assignments": [],
            "visibility": "public",
            "permalink": "https://app.incident.io/incidents/7",
        },
    }
    event = tmp_path / "webhook.json"
    event.write_text(json.dumps(body))
    done = rensei("run", str(EXAMPLE), "--event", str(event), "--sandbox")
    assert done.returncode == 0, done.stderr
    steps = {s["id"]: s for s in json.loads(done.stdout)["steps"]}
    assert steps["triage"]["output"] == {"value": "SEV-3", "branch": "default"}
    assert steps["open_ticket"]["output"]["title"] == "Queue backlog"


def test_run_that_fails_prints_json_and_exits_one(tmp_path: Path) -> None:
    definition = tmp_path / "bad-ref.yaml"
    definition.write_text(
        "trigger:\n  type: trigger.incident_io.incident.created\nsteps:\n"
        "  - id: a\n    type: debug.echo\n    inputs:\n      x: '{{ $trigger.incident_io.reference }}'\n"
    )
    event = tmp_path / "e.json"
    event.write_text('{"incident_io": {"incident_id": "1"}}')
    done = rensei("run", str(definition), "--event", str(event), "--sandbox")
    assert done.returncode == 1
    outcome = json.loads(done.stdout)
    assert outcome["status"] == "failed"
    assert (
        outcome["error"]
        == f"{definition}:7:14: step 'a': no field 'reference' in $trigger.incident_io (present: incident_id)"
    )
    assert outcome["steps"][0]["status"] == "failed"
    assert done.stderr.splitlines() == [
        f"rensei run: bad-ref failed (1 failed): {outcome['error']}"
    ]


def test_run_rejects_bad_input_before_starting_anything(tmp_path: Path) -> None:
    event = tmp_path / "e.json"
    event.write_text("{not json")
    done = rensei("run", str(EXAMPLE), "--event", str(event))
    assert done.returncode == 2
    assert (
        done.stderr.strip()
        == f"{event}:1:2: invalid JSON: Expecting property name enclosed in double quotes"
    )
    event.write_text(
        '{"event_type": "public_incident.incident_updated_v2", "public_incident.incident_updated_v2": {"id": "x"}}'
    )
    done = rensei("run", str(EXAMPLE), "--event", str(event))
    assert done.returncode == 2
    assert "private-incident event" in done.stderr
    event.write_text('{"incident_io": {"incident_id": "1"}}')
    done = rensei("run", str(INVALID / "structure.yaml"), "--event", str(event))
    assert done.returncode == 2
    assert (
        done.stderr.splitlines()[0]
        == f"{INVALID / 'structure.yaml'}:3:9: unknown trigger type 'trigger.incident_io.incident.creatd' (did you mean 'trigger.incident_io.incident.created'?)"
    )


def test_run_without_a_stack_says_how_to_start_one(tmp_path: Path) -> None:
    import os

    env = dict(os.environ, RENSEI_TEMPORAL_ADDRESS="127.0.0.1:1")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "cli",
            "run",
            str(EXAMPLE),
            "--event",
            str(ROOT / "examples/events/sev1.json"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert done.returncode == 1
    assert "cannot reach Temporal at 127.0.0.1:1" in done.stderr
    assert "make run" in done.stderr


def test_sandbox_routes_a_sev1_through_simulated_slack_and_agent() -> None:
    done = rensei(
        "run",
        str(ROOT / "examples" / "severity-routing.yaml"),
        "--event",
        str(ROOT / "examples" / "events" / "sev1.json"),
        "--sandbox",
    )
    assert done.returncode == 0, done.stderr
    steps = {s["id"]: s for s in json.loads(done.stdout)["steps"]}
    assert steps["page_oncall"]["output"]["channel"] == "C01PAYONCALL"
    summary = steps["call_agent"]["output"]["summary"]
    assert (
        summary.startswith("Mitigated ")
        and "(Checkout API returning 500s, severity SEV-1)" in summary
    )
    assert steps["agent_report"]["status"] == "completed"
    assert steps["open_ticket"]["status"] == "skipped"


def test_sandbox_opens_a_linear_issue_for_sev3() -> None:
    done = rensei(
        "run",
        str(ROOT / "examples" / "severity-routing.yaml"),
        "--event",
        str(ROOT / "examples" / "events" / "sev3.json"),
        "--sandbox",
    )
    assert done.returncode == 0, done.stderr
    steps = {s["id"]: s for s in json.loads(done.stdout)["steps"]}
    assert steps["open_ticket"]["output"]["identifier"].startswith("ENG-")
    assert steps["ticket_notice"]["status"] == "completed"


def test_sandbox_approves_as_a_slack_user() -> None:
    done = rensei(
        "run",
        str(ROOT / "examples" / "sev1-approval.yaml"),
        "--event",
        str(ROOT / "examples" / "events" / "sev1.json"),
        "--sandbox",
        "--approve-as",
        "U01ALICE",
    )
    assert done.returncode == 0, done.stderr
    steps = {s["id"]: s for s in json.loads(done.stdout)["steps"]}
    assert steps["approve_failover"]["output"]["decision"] == "approved"
    assert steps["approve_failover"]["output"]["by"] == "U01ALICE"
    assert steps["failover"]["output"]["state"] == "completed"
    assert steps["stand_down"]["status"] == "skipped"


def test_run_help_documents_the_sandbox_approver() -> None:
    done = rensei("run", "--help")
    assert "--approve-as USER" in done.stdout
    assert "U01ALICE" in done.stdout


def test_run_sandbox_drives_every_incident_io_node_against_the_simulator() -> None:
    definition = ROOT / "examples" / "incident-io-nodes.yaml"
    done = rensei(
        "run",
        str(definition),
        "--event",
        str(ROOT / "examples" / "events" / "sev3.json"),
        "--sandbox",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    outcome = json.loads(done.stdout)
    steps = {s["id"]: s for s in outcome["steps"]}
    assert outcome["status"] == "completed"
    assert all(s["status"] == "completed" for s in steps.values())
    fetched = steps["fetch"]["output"]
    assert (fetched["reference"], fetched["title"]) == ("INC-43", "Slow dashboard loads in EU")
    assert (fetched["severity"], fetched["status"], fetched["team"]) == (
        "SEV-3",
        "Triage",
        "Platform",
    )
    assert fetched["id"] in {i["id"] for i in steps["open_for_team"]["output"]["incidents"]}
    take = steps["take"]["output"]
    assert (take["status"], take["statusFrom"], take["statusChanged"]) == (
        "Triage",
        "Triage",
        False,
    )
    assert take["problem"].startswith("incident.io refused to move INC-43 from Triage")
    assert steps["raise_severity"]["output"]["severity"] == "SEV-1"
    assert steps["page"]["output"]["status"] == "triggered"
    assert steps["note"]["output"]["title"] == "[automation] Paged the on-call path"
    assert steps["close"]["output"] == {
        "incidentId": fetched["id"],
        "status": "resolved",
        "incidentStatus": "Documenting",
    }


def test_sandbox_runs_the_whole_lifecycle_to_the_all_clear() -> None:
    done = rensei(
        "run",
        str(ROOT / "examples" / "incident-lifecycle.yaml"),
        "--event",
        str(ROOT / "examples" / "events" / "sev1.json"),
        "--sandbox",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    steps = {s["id"]: s for s in json.loads(done.stdout)["steps"]}
    assert steps["escalate"]["output"]["status"] == "triggered"
    assert steps["agent_on_timeline"]["output"]["title"] == "[agent] incident-responder reported"
    assert steps["until_resolved"]["output"]["event"] == "resolved"
    assert isinstance(steps["until_resolved"]["output"]["payload"]["resolution_time"], int)
    assert steps["still_open"]["status"] == "skipped"
    assert steps["all_clear"]["status"] == "completed"
    assert steps["open_ticket"]["status"] == "skipped"


def test_simulate_incident_io_refuses_webhooks_without_a_secret() -> None:
    done = rensei("simulate", "incident-io", "--port", "0", "--webhook-url", "http://127.0.0.1:1/")
    assert done.returncode == 2, done.stderr
    assert "webhook_url needs webhook_secret" in done.stderr
