"""``triad mcp`` through a real MCP client: the SDK's stdio client starts it as a subprocess.

One server serves the module (its start-up is the costly part): the tools are listed with typed
inputs and structured outputs, the seed's ``x^2 + 2x + 1`` is differentiated at 3.0 (8.0),
``scenarios/saxpy.yaml`` runs on the local backend, a kernel is verified, a sweep reports
progress, and malformed requests get errors that name what was wrong. A raw JSON-RPC exchange
checks that stdout carries only protocol messages even when the code the server runs writes to
stdout.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("mcp", reason="the MCP SDK (adtriad's 'mcp' extra) is not installed")
jsonschema = pytest.importorskip("jsonschema", reason="jsonschema is not installed")

from mcp import ClientSession, StdioServerParameters  # noqa: E402
from mcp.client.stdio import stdio_client  # noqa: E402

from adtriad.agents.report import RunReport  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TOOLS = {"differentiate", "verify", "run_scenario", "sweep_start", "sweep_status",
         "list_kernels", "fuzz"}
POLY = "def f(x):\n    return x**2 + 2*x + 1\n"


def attr(obj, name: str):
    """``obj.<name>``; mcp 1.x spells the protocol's fields in camelCase (``isError``)."""
    if hasattr(obj, name):
        return getattr(obj, name)
    head, *rest = name.split("_")
    return getattr(obj, head + "".join(w.title() for w in rest))


def triad_command() -> list[str]:
    script = Path(sys.executable).with_name("triad")
    return [str(script)] if script.exists() else [sys.executable, "-m", "adtriad.cli"]


@pytest.fixture(scope="module")
def server_env(tmp_path_factory) -> dict[str, str]:
    cache = tmp_path_factory.getbasetemp() / "embedding-engine-cache"
    cache.mkdir(exist_ok=True)
    return {"TRIAD_ENGINE__CACHE_DIR": str(cache), "PYTHONUNBUFFERED": "1"}


class Client:
    """An MCP client session held open in a background event loop; tests call into it."""

    def __init__(self, params: StdioServerParameters, errlog) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.ready: asyncio.Future | None = None
        self.stop: asyncio.Event | None = None
        self.holder = asyncio.run_coroutine_threadsafe(self._hold(params, errlog), self.loop)
        deadline = time.monotonic() + 120
        while self.ready is None and time.monotonic() < deadline:
            time.sleep(0.01)
        self.session = asyncio.run_coroutine_threadsafe(self._wait_ready(), self.loop).result(120)

    async def _wait_ready(self):
        return await self.ready

    async def _hold(self, params, errlog) -> None:
        self.stop = asyncio.Event()
        self.ready = self.loop.create_future()
        try:
            async with stdio_client(params, errlog=errlog) as (read, write):
                async with ClientSession(read, write) as session:
                    await session.initialize()
                    self.ready.set_result(session)
                    await self.stop.wait()
        except BaseException as err:
            if not self.ready.done():
                self.ready.set_exception(err)
            raise

    def call(self, name: str, arguments: dict | None = None, progress=None, timeout: float = 120):
        coro = self.session.call_tool(name, arguments or {}, progress_callback=progress)
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def list_tools(self):
        return asyncio.run_coroutine_threadsafe(self.session.list_tools(), self.loop).result(60)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.stop.set)
        try:
            self.holder.result(30)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)


@pytest.fixture(scope="module")
def client(server_env, tmp_path_factory):
    errlog_path = tmp_path_factory.mktemp("mcp") / "server-stderr.txt"
    command = triad_command()
    params = StdioServerParameters(command=command[0], args=[*command[1:], "mcp"],
                                   env=server_env, cwd=str(ROOT))
    with open(errlog_path, "w") as errlog:
        c = Client(params, errlog)
        try:
            yield c
        finally:
            c.close()


@pytest.fixture(scope="module")
def tools(client):
    return {t.name: t for t in client.list_tools().tools}


def structured(result, tool) -> dict:
    """The structured output of a successful call, checked against the tool's outputSchema."""
    assert not attr(result, "is_error"), result.content[0].text
    data = attr(result, "structured_content")
    jsonschema.validate(data, attr(tool, "output_schema"))
    return data


def error_text(result) -> str:
    assert attr(result, "is_error"), attr(result, "structured_content")
    return result.content[0].text


def test_lists_the_tools_with_typed_inputs_and_structured_outputs(tools):
    assert set(tools) == TOOLS
    for tool in tools.values():
        assert attr(tool, "input_schema")["type"] == "object"
        output = attr(tool, "output_schema")
        assert output is not None and output["type"] == "object"
        assert tool.description
    diff = attr(tools["differentiate"], "input_schema")
    assert {"source", "entry", "inputs"} <= set(diff["required"])
    assert {"mode", "activities", "shadows", "derivative_source"} <= set(diff["properties"])


def test_differentiates_the_seed_polynomial(client, tools):
    args = {"source": POLY, "entry": "f", "inputs": {"x": 3.0}, "mode": "Reverse",
            "activities": {"x": "Active"}, "derivative_source": True}
    data = structured(client.call("differentiate", args), tools["differentiate"])
    assert data["derivatives"] == {"x": 8.0}
    assert data["activities"] == {"x": "Active"}
    assert "def " in data["derivative_source"]
    fwd = {"source": POLY, "entry": "f", "inputs": {"x": 3.0}, "mode": "ForwardWithPrimal"}
    data = structured(client.call("differentiate", fwd), tools["differentiate"])
    assert (data["primal"], data["tangent"]) == (16.0, 8.0)
    assert data["derivative_source"] is None


def test_runs_the_saxpy_scenario_on_the_local_backend(client, tools):
    data = structured(client.call("run_scenario", {"path": "scenarios/saxpy.yaml"}),
                      tools["run_scenario"])
    report = RunReport.model_validate_json(json.dumps(data))
    assert report.backend == "local"
    assert report.passed and report.coherent and report.exit_code == 0
    (rnd,) = report.scenarios[0].rounds
    assert rnd.round_id == "saxpy/Reverse/0" and rnd.coherence.coherent
    assert {"dot_product", "reproducible"} <= {c.name for c in rnd.checks}


def test_verify_gives_the_tempering_verdict(client, tools):
    args = {"kernel": {"builtin": "poly"}, "seed": 7,
            "arguments": {"x": {"activity": "Active", "value": {"draw": "uniform"}}},
            "expect": {"x": "2 * x + 2"}}
    data = structured(client.call("verify", args), tools["verify"])
    assert data["passed"] and data["coherent"] and data["status"] == "passed"
    names = {c["name"] for c in data["checks"]}
    assert {"finite_differences[x]", "analytic[x]", "dot_product", "reproducible"} <= names
    again = structured(client.call("verify", args), tools["verify"])
    assert again["round_seed"] == data["round_seed"]


def test_a_sweep_reports_progress_until_it_finishes(client, tools):
    text = (ROOT / "scenarios" / "test1_reverse_scalar.yaml").read_text()
    started = structured(client.call("sweep_start", {"yaml": [text], "seeds": 3}),
                         tools["sweep_start"])
    assert started["scenarios"] == ["test1_reverse_scalar"]
    seen = []

    async def progress(done, total, message):
        seen.append((done, total, message))

    status = structured(client.call("sweep_status", {"sweep_id": started["sweep_id"],
                                                     "wait_seconds": 90}, progress=progress),
                        tools["sweep_status"])
    assert status["state"] == "finished", status
    assert status["done"] == status["total"] == status["passed"] == 3
    assert RunReport.model_validate_json(json.dumps(status["report"])).passed
    assert seen and seen[-1][:2] == (3, 3)
    assert [d for d, _, _ in seen] == sorted(d for d, _, _ in seen)


def test_fuzz_checks_generated_programs_against_dual_numbers(client, tools):
    data = structured(client.call("fuzz", {"programs": 2, "seed": 4, "max_statements": 6, "search": 4}),
                      tools["fuzz"])
    assert data["programs"] == 2 and sum(data["counts"].values()) == 2
    assert set(data["modes"]) == {"Reverse", "ReverseWithPrimal", "Forward", "ForwardWithPrimal"}
    assert not data["failures"], data["failures"]
    bad = client.call("fuzz", {"programs": 1, "modes": ["ReverseSplitWithPrimal"]})
    assert attr(bad, "is_error") and "modes" in bad.content[0].text


def test_malformed_requests_get_errors_that_say_what_was_wrong(client, tools):
    bad_mode = client.call("differentiate", {"source": POLY, "entry": "f",
                                             "inputs": {"x": 3.0}, "mode": "Sideways"})
    assert "mode" in error_text(bad_mode) and "Reverse" in error_text(bad_mode)
    missing = client.call("differentiate", {"entry": "f", "inputs": {"x": 3.0}})
    assert "source" in error_text(missing)
    wrong_args = client.call("differentiate", {"source": POLY, "entry": "f",
                                               "inputs": {"y": 3.0}})
    assert "inputs" in error_text(wrong_args) and "f(x)" in error_text(wrong_args)
    no_entry = client.call("differentiate", {"source": POLY, "entry": "g", "inputs": {"x": 1.0}})
    assert "entry" in error_text(no_entry) and "'g'" in error_text(no_entry)
    both = client.call("run_scenario", {"path": "a.yaml", "yaml": "name: x"})
    assert "exactly one of path" in error_text(both)
    nofile = client.call("run_scenario", {"path": "scenarios/no_such.yaml"})
    assert "no_such.yaml" in error_text(nofile) and "no such file" in error_text(nofile)
    misspelled = client.call("differentiate", {"source": POLY, "entry": "f", "inputs": {"x": 3.0},
                                               "activites": {"x": "Const"}})
    assert "activites" in error_text(misspelled) and "not permitted" in error_text(misspelled)
    assert all(attr(tool, "input_schema")["additionalProperties"] is False for tool in tools.values())
    bad_yaml = client.call("run_scenario", {"yaml": "name: x\nkernel: {builtin: nope}\n"})
    assert "<inline>" in error_text(bad_yaml)
    unknown = client.call("sweep_status", {"sweep_id": "nope"})
    assert "sweep_id" in error_text(unknown)
    assert structured(client.call("list_kernels"), tools["list_kernels"])["kernels"]


def test_list_kernels_describes_the_builtins(client, tools):
    data = structured(client.call("list_kernels"), tools["list_kernels"])
    by_name = {k["name"]: k for k in data["kernels"]}
    assert by_name["saxpy"]["parameters"] == ["y", "a", "x"]
    assert "x^2 + 2x + 1" in by_name["poly"]["description"]


def test_stdout_carries_only_protocol_messages(server_env, tmp_path):
    noisy = ("import os\nprint('stray print')\nos.write(1, b'stray write to fd 1\\n')\n\n"
             "def g(x):\n    return x * x\n")
    requests = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize",
         "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                    "clientInfo": {"name": "raw", "version": "0"}}},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
         "params": {"name": "differentiate",
                    "arguments": {"source": noisy, "entry": "g", "inputs": {"x": 2.0}}}},
        {"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": 42}},
    ]
    env = {**os.environ, **server_env}
    errlog = open(tmp_path / "stderr.txt", "w+")
    proc = subprocess.Popen([*triad_command(), "mcp"], cwd=ROOT, env=env, text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errlog)
    replies = {}
    try:
        for req in requests:
            proc.stdin.write(json.dumps(req) + "\n")
            proc.stdin.flush()
            if "id" in req:
                line = proc.stdout.readline()
                msg = json.loads(line)  # every stdout line is a JSON-RPC message
                assert msg["jsonrpc"] == "2.0"
                replies[msg["id"]] = msg
        proc.stdin.close()
        rest = proc.stdout.read()
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
        errlog.seek(0)
        err = errlog.read()
        errlog.close()
    assert rest.strip() == ""
    result = replies[2]["result"]
    assert not result.get("isError") and result["structuredContent"]["derivatives"] == {"x": 4.0}
    assert replies[3]["error"]["code"] == -32602
    assert "stray print" in err and "stray write to fd 1" in err
