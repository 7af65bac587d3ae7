"""The CLI config file as this client reads it: the YAML subset, the path, and the environment's overrides."""

from __future__ import annotations

import json
import os
import tempfile
import unittest

from switchyard.config import Config, ConfigError, config_path, load_config, parse_config_yaml, read_config_file


class ParseConfigYaml(unittest.TestCase):
    def test_reads_what_up_and_login_write(self) -> None:
        text = "server: http://127.0.0.1:8080\ntoken: sy_eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZG1pbiJ9.c2ln\nca: /var/lib/switchyard/gateway/tls.crt\n"
        self.assertEqual(parse_config_yaml(text), {"server": "http://127.0.0.1:8080", "token": "sy_eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZG1pbiJ9.c2ln", "ca": "/var/lib/switchyard/gateway/tls.crt"})

    def test_reads_quoted_and_folded_values_as_the_yaml_package_writes_them(self) -> None:
        self.assertEqual(parse_config_yaml('ca: "/tmp/a path/with # hash.pem"\n')["ca"], "/tmp/a path/with # hash.pem")
        self.assertEqual(parse_config_yaml("ca: /a long path\n  folded over lines.pem\n")["ca"], "/a long path folded over lines.pem")
        self.assertEqual(parse_config_yaml("ca: 'say \"hi\" and\n  it''s: here'\n")["ca"], "say \"hi\" and it's: here")
        self.assertEqual(parse_config_yaml('team: "x\\x01y\\u00e9\\ttab"\n')["team"], "x\x01y\u00e9\ttab")
        self.assertEqual(parse_config_yaml('team: "joined\\\n   here"\n')["team"], "joinedhere")
        self.assertEqual(parse_config_yaml('team: "one\n\n  two"\n')["team"], "one\ntwo")
        self.assertEqual(parse_config_yaml("server:\n  http://h:1\n")["server"], "http://h:1")

    def test_skips_comments_markers_and_other_keys_and_reads_nulls_as_absent(self) -> None:
        text = "---\n# a comment\nserver: http://h:1 # trailing\nother:\n  nested: [1, 2]\n  - x\ntoken: ~\nteam:\n...\n"
        self.assertEqual(parse_config_yaml(text), {"server": "http://h:1", "token": None, "team": None})

    def test_refuses_what_it_does_not_read_with_the_line(self) -> None:
        cases = {
            "server: x\ntoken: |\n  sy_x\n": (2, "block scalar"),
            "server:\n  url: http://h\n": (2, "nested mapping"),
            "server: [a]\n": (1, "flow sequence"),
            "token: &t sy_x\n": (1, "anchor"),
            "server: a: b\n": (1, "quote it"),
            "server: x\nserver: y\n": (2, "twice"),
            "  server: x\n": (1, "indentation"),
            'server: "open\n': (1, "no closing"),
            'server: "x" y\n': (1, "after the closing"),
            'team: "\\q"\n': (1, "unknown escape"),
            "just text\n": (1, "key: value"),
        }
        for text, (line, words) in cases.items():
            with self.subTest(text=text):
                with self.assertRaises(ConfigError) as cm:
                    parse_config_yaml(text, "c.yaml")
                self.assertEqual(cm.exception.line, line)
                self.assertIn(words, str(cm.exception))
                self.assertTrue(str(cm.exception).startswith(f"c.yaml:{line}: "))

    @unittest.skipUnless(os.environ.get("SWITCHYARD_TEST_YAML_CASES"), "no YAML written by the CLI's yaml package (python-client.test.ts writes them)")
    def test_reads_every_file_the_cli_s_yaml_package_writes_as_it_reads_it(self) -> None:
        with open(os.environ["SWITCHYARD_TEST_YAML_CASES"], encoding="utf-8") as f:
            cases = json.load(f)
        self.assertGreater(len(cases), 0)
        for case in cases:
            with self.subTest(yaml=case["yaml"]):
                self.assertEqual(parse_config_yaml(case["yaml"]), case["expected"])


class ConfigPathAndEnvironment(unittest.TestCase):
    def test_finds_the_file_as_the_cli_does(self) -> None:
        self.assertEqual(config_path({"SWITCHYARD_CONFIG": "/x/c.yaml", "XDG_CONFIG_HOME": "/y"}), "/x/c.yaml")
        self.assertEqual(config_path({"XDG_CONFIG_HOME": "/y"}), "/y/switchyard/config.yaml")
        self.assertEqual(config_path({}), os.path.join(os.path.expanduser("~"), ".config", "switchyard", "config.yaml"))

    def test_environment_overrides_the_file_and_an_absent_file_is_empty(self) -> None:
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "config.yaml")
            self.assertEqual(read_config_file(path), Config())
            with open(path, "w", encoding="utf-8") as f:
                f.write("server: http://file:1\ntoken: sy_file\nca: /file.pem\n")
            self.assertEqual(load_config(path, env={}), Config(server="http://file:1", token="sy_file", ca="/file.pem"))
            env = {"SWITCHYARD_URL": "https://env:2", "SWITCHYARD_TOKEN": "sy_env", "SWITCHYARD_TLS_CA": "/env.pem"}
            self.assertEqual(load_config(path, env=env), Config(server="https://env:2", token="sy_env", ca="/env.pem"))
            self.assertEqual(load_config(env={"SWITCHYARD_CONFIG": path, "SWITCHYARD_TOKEN": ""}).token, "", "a variable that is set wins, even empty")


if __name__ == "__main__":
    unittest.main()
