"""
Switchyard's Python client: submit, get, list, wait for, follow the logs of, read the metrics of and cancel training
jobs over the gateway's REST API, with the standard library only; and ``log_metric`` for a job to report a metric.

    import switchyard
    client = switchyard.Client()            # server, token and CA as the CLI finds them
    job = client.submit_file("job.yaml")
    for line in client.logs(job.name, follow=True):
        print(line)
    print(client.wait(job.name, timeout=3600).phase)
    print(client.metrics(job.name)["loss"].latest)

Inside a job: ``switchyard.log_metric("loss", 0.3, step=10)`` prints ``step=10 loss=0.3``.
"""

from .client import ROUTES, Client, LogStream, SwitchyardWarning
from .config import CONFIG_KEYS, Config, ConfigError, config_path, load_config, parse_config_yaml, read_config_file
from .errors import FieldViolation, SwitchyardError, WaitTimeout
from .metrics import format_metrics, log_metric, log_metrics
from .models import FINAL_PHASES, Job, MetricPoint, MetricSeries, WhoAmI

__version__ = "0.1.0"

__all__ = [
    "CONFIG_KEYS",
    "Client",
    "Config",
    "ConfigError",
    "FINAL_PHASES",
    "FieldViolation",
    "Job",
    "LogStream",
    "MetricPoint",
    "MetricSeries",
    "ROUTES",
    "SwitchyardError",
    "SwitchyardWarning",
    "WaitTimeout",
    "WhoAmI",
    "config_path",
    "format_metrics",
    "load_config",
    "log_metric",
    "log_metrics",
    "parse_config_yaml",
    "read_config_file",
]
