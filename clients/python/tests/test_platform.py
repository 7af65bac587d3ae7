"""
The client against a real platform. ``apps/cli/src/python-client.test.ts`` starts one (``switchyard up``), logs a
member in with the CLI (``switchyard login`` writes the config file this client reads, named by SWITCHYARD_CONFIG) and
runs these tests; without SWITCHYARD_TEST_PLATFORM they are skipped.

SWITCHYARD_TEST_JOB_PYTHONPATH: where a job's python imports ``switchyard`` from (readable by the job's account).
SWITCHYARD_TEST_TLS_CONFIG: the CLI config ``switchyard up --tls`` wrote for a second platform (its ``ca`` set).
"""

from __future__ import annotations

import json
import os
import ssl
import tempfile
import unittest
import urllib.request
import warnings
from unittest import mock

import switchyard
from switchyard import Client, SwitchyardError, WaitTimeout, read_config_file

PLATFORM = os.environ.get("SWITCHYARD_TEST_PLATFORM") == "1"
JOB_PYTHONPATH = os.environ.get("SWITCHYARD_TEST_JOB_PYTHONPATH", "")
TLS_CONFIG = os.environ.get("SWITCHYARD_TEST_TLS_CONFIG", "")

# A job that reports metrics with the client itself, and says something in more than ASCII.
METRICS_JOB = """apiVersion: switchyard/v1
kind: Job
metadata: {name: py-metrics}
spec:
  resources: {cpu: 10m, memory: 64Mi}
  env: {PYTHONPATH: %s}
  command:
    - /usr/bin/python3
    - -c
    - |
      import switchyard
      print("hello from python: caf\\u00e9 \\u2713")
      for i, loss in enumerate([1.0, 0.5, 0.25]):
          switchyard.log_metric("loss", loss, step=i + 1)
      switchyard.log_metrics({"accuracy": 0.75, "val-loss": 0.3})
      print("done")
"""

SLEEPING_JOB = """apiVersion: switchyard/v1
kind: Job
metadata: {name: py-sleeper}
spec:
  resources: {cpu: 10m, memory: 16Mi}
  command: [/bin/sleep, "300"]
"""


@unittest.skipUnless(PLATFORM, "no platform (python-client.test.ts starts one and sets SWITCHYARD_TEST_PLATFORM=1)")
class AgainstThePlatform(unittest.TestCase):
    client: Client

    @classmethod
    def setUpClass(cls) -> None:
        # Server and token from the CLI config `switchyard login` wrote (SWITCHYARD_CONFIG), as the CLI finds them.
        cls.client = Client()

    def test_a_job_reports_metrics_with_log_metric_and_is_followed_waited_for_and_read_back(self) -> None:
        self.assertTrue(JOB_PYTHONPATH, "SWITCHYARD_TEST_JOB_PYTHONPATH is not set")
        job = self.client.submit(METRICS_JOB % json.dumps(JOB_PYTHONPATH), generate_name=True)
        self.assertTrue(job.name.startswith("py-metrics-"), job.name)
        self.assertEqual(job.team, "default")
        with self.client.logs(job.name, follow=True) as lines:
            followed = list(lines)
        expected = ["hello from python: caf\u00e9 \u2713", "step=1 loss=1.0", "step=2 loss=0.5", "step=3 loss=0.25", "accuracy=0.75 val-loss=0.3", "done"]
        self.assertEqual(followed, expected)
        done = self.client.wait(job.name, timeout=120)
        self.assertEqual(done.phase, "Succeeded", done.message)
        self.assertTrue(done.succeeded and done.finished)
        self.assertIsNotNone(done.completed)
        self.assertEqual(list(self.client.logs(job.uid)), expected, "a finished job's log, by uid")

        metrics = self.client.metrics(job.name)
        self.assertEqual(sorted(metrics), ["accuracy", "loss", "step", "val-loss"])
        self.assertEqual(metrics["loss"].values, [1.0, 0.5, 0.25])
        self.assertEqual((metrics["loss"].latest, metrics["loss"].min, metrics["loss"].max, metrics["loss"].total_points), (0.25, 0.25, 1.0, 3))
        self.assertEqual(metrics["step"].values, [1.0, 2.0, 3.0])
        self.assertEqual(metrics["val-loss"].latest, 0.3)
        self.assertEqual(list(self.client.metrics(job.name, names=["accuracy"])), ["accuracy"])

        got = self.client.get(job.name)
        self.assertEqual((got.uid, got.phase, got.attempt), (job.uid, "Succeeded", 1))
        self.assertIn(job.name, [j.name for j in self.client.list()])
        self.assertIn(job.name, [j.name for j in self.client.list(state="Succeeded")])
        self.assertNotIn(job.name, [j.name for j in self.client.list(state="Running")])

    def test_cancels_a_job_from_a_manifest_file_after_a_wait_that_times_out(self) -> None:
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "sleeper.yaml")
            with open(path, "w", encoding="utf-8") as f:
                f.write(SLEEPING_JOB)
            job = self.client.submit_file(path, generate_name=True)
        with self.assertRaises(WaitTimeout) as cm:
            self.client.wait(job.name, timeout=0.3, poll_interval=0.1)
        self.assertIsInstance(cm.exception, TimeoutError)
        self.assertFalse(cm.exception.job.finished)
        cancelled = self.client.cancel(job.name)
        self.assertEqual(cancelled.name, job.name)
        final = self.client.wait(job.name, timeout=60)
        self.assertEqual(final.phase, "Cancelled")
        self.assertIn(job.name, [j.name for j in self.client.list(state="Cancelled")])

    def test_says_who_the_token_speaks_for(self) -> None:
        me = self.client.whoami()
        self.assertEqual((me.user, me.role, me.teams), ("py", "member", ("default",)))

    def test_raises_the_platform_s_error_with_status_code_message_and_details(self) -> None:
        with self.assertRaises(SwitchyardError) as cm:
            self.client.get("no-such-job")
        self.assertEqual((cm.exception.status, cm.exception.code), (404, "not_found"))
        self.assertIn("no-such-job", cm.exception.message)
        with self.assertRaises(SwitchyardError) as cm:
            self.client.submit("apiVersion: switchyard/v1\nkind: Job\nmetadata: {name: bad}\nspec:\n  command: [x]\n  resources: {gpus: -1}\n", file_name="bad.yaml")
        e = cm.exception
        self.assertEqual((e.status, e.code), (400, "invalid_argument"))
        self.assertTrue(any("gpus" in d.field and d.line == 6 and d.file == "bad.yaml" for d in e.details), repr(e))
        with self.assertRaises(SwitchyardError) as cm:
            self.client.logs("no-such-job", follow=True)
        self.assertEqual(cm.exception.status, 404)
        with self.assertRaises(SwitchyardError) as cm:
            Client(token="sy_not.a.token").whoami()
        self.assertEqual((cm.exception.status, cm.exception.code), (401, "unauthenticated"))

    def test_passes_on_what_the_platform_warns_about(self) -> None:
        manifest = "apiVersion: switchyard/v1\nkind: Job\nmetadata: {name: py-warned, generateName: py-}\nspec:\n  suspend: true\n  command: [/bin/true]\n"
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            job = self.client.submit(manifest)
        self.client.cancel(job.name)
        messages = [str(w.message) for w in caught if issubclass(w.category, switchyard.SwitchyardWarning)]
        self.assertTrue(any("generateName: ignored" in m for m in messages), messages)

    def test_calls_only_routes_the_gateway_s_openapi_document_lists(self) -> None:
        with urllib.request.urlopen(self.client.server + "/openapi.json", timeout=30) as r:
            doc = json.load(r)
        for method, path in switchyard.ROUTES:
            with self.subTest(route=f"{method.upper()} {path}"):
                self.assertIn(method, doc["paths"].get(path, {}), f"{method.upper()} {path} is not in /openapi.json")
        logs = doc["paths"]["/v1/jobs/{name}/logs"]["get"]["responses"]["200"]["content"]
        self.assertIn("text/event-stream", logs)


@unittest.skipUnless(PLATFORM and TLS_CONFIG, "no TLS platform (python-client.test.ts starts one with `up --tls`)")
class OverTls(unittest.TestCase):
    def test_trusts_the_ca_file_from_the_config_or_the_environment_and_nothing_else(self) -> None:
        cfg = read_config_file(TLS_CONFIG)
        assert cfg.server is not None and cfg.ca is not None
        self.assertTrue(cfg.server.startswith("https://"))
        self.assertEqual(Client(config_file=TLS_CONFIG).whoami().user, "admin")
        with tempfile.TemporaryDirectory() as d:
            bare = os.path.join(d, "config.yaml")
            with open(bare, "w", encoding="utf-8") as f:
                f.write(f"server: {cfg.server}\ntoken: {cfg.token}\n")
            with mock.patch.dict(os.environ, {"SWITCHYARD_TLS_CA": cfg.ca}):
                self.assertEqual(Client(config_file=bare).whoami().user, "admin")
            with mock.patch.dict(os.environ):
                os.environ.pop("SWITCHYARD_TLS_CA", None)
                with self.assertRaises(SwitchyardError) as cm:
                    Client(config_file=bare).whoami()
        self.assertEqual((cm.exception.status, cm.exception.code), (None, "unavailable"))
        self.assertIn("certificate is not trusted", cm.exception.message)
        # The same server through the standard library alone fails the same way: the trust is the CA file's.
        with self.assertRaises(Exception) as raw:
            urllib.request.urlopen(cfg.server + "/healthz", timeout=30, context=ssl.create_default_context())
        self.assertIn("CERTIFICATE_VERIFY_FAILED", str(raw.exception))


if __name__ == "__main__":
    unittest.main()
