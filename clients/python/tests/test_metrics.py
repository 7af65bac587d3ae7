"""log_metric: the line a job prints for the platform's metrics collector."""

from __future__ import annotations

import io
import unittest

from switchyard import format_metrics, log_metric, log_metrics


class LogMetric(unittest.TestCase):
    def test_prints_name_value_lines_with_an_optional_step_and_flushes(self) -> None:
        out = io.StringIO()
        log_metric("loss", 0.3, file=out)
        log_metric("loss", 0.25, step=2, file=out)
        log_metrics({"accuracy": 0.9, "val-loss": 1e-05, "epoch": 3}, step=7, file=out)
        self.assertEqual(out.getvalue(), "loss=0.3\nstep=2 loss=0.25\nstep=7 accuracy=0.9 val-loss=1e-05 epoch=3\n")

    def test_writes_values_the_collector_reads_as_the_same_number(self) -> None:
        for value, text in [(1, "1"), (-2, "-2"), (0.1, "0.1"), (2.0, "2.0"), (1.5e20, "1.5e+20"), (-3e-7, "-3e-07")]:
            with self.subTest(value=value):
                self.assertEqual(format_metrics({"x": value}), f"x={text}")

    def test_refuses_names_and_values_the_collector_would_misread(self) -> None:
        for name in ["val/loss", "loss.avg", "a b", "", "étape"]:
            with self.subTest(name=name), self.assertRaises(ValueError):
                format_metrics({name: 1})
        for bad in [float("nan"), float("inf"), 10**400]:
            with self.subTest(value=bad), self.assertRaises(ValueError):
                format_metrics({"x": bad})
        with self.assertRaises(TypeError):
            format_metrics({"x": True})
        with self.assertRaises(TypeError):
            format_metrics({"x": "0.5"})  # type: ignore[dict-item]
        with self.assertRaises(ValueError):
            format_metrics({"step": 1}, step=2)


if __name__ == "__main__":
    unittest.main()
